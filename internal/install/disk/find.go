package disk

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

var (
	// ErrNotFound says that no partition has the GPT name looked for.
	ErrNotFound = errors.New("partition not found")
	// ErrAmbiguous says that several partitions have the GPT name looked
	// for (two disks carrying Plinth's layout): name the disk with FindOn.
	ErrAmbiguous = errors.New("several partitions have that name")
)

// PartitionInfo is a partition the kernel knows.
//
// (Named PartitionInfo because the name Partition is the function that
// writes the layout.)
type PartitionInfo struct {
	// Disk is the whole-disk device, e.g. /dev/vda.
	Disk string
	// Device is the partition's device, e.g. /dev/vda3.
	Device string
	// Label is the GPT partition name, e.g. STATE.
	Label string
	// Number is the partition number, from 1.
	Number int
	// Size is the partition's size in bytes.
	Size int64
}

// PartitionDevice names partition n of the whole-disk device disk:
// /dev/vda and 1 give /dev/vda1; a disk whose name ends in a digit takes a
// "p" first: /dev/nvme0n1p1, /dev/loop0p1, /dev/mmcblk0p1.
func PartitionDevice(disk string, n int) string {
	if disk != "" && disk[len(disk)-1] >= '0' && disk[len(disk)-1] <= '9' {
		return disk + "p" + strconv.Itoa(n)
	}
	return disk + strconv.Itoa(n)
}

// Find returns the partition whose GPT name is label, from /sys and /dev.
func Find(label string) (PartitionInfo, error) {
	return FindIn("/sys", "/dev", label)
}

// FindOn returns the partition of the whole-disk device disk (e.g.
// /dev/vda, or a symbolic link to it) whose GPT name is label.
func FindOn(disk, label string) (PartitionInfo, error) {
	real, err := filepath.EvalSymlinks(disk)
	if err != nil {
		return PartitionInfo{}, fmt.Errorf("find partition %s on %s: %w", label, disk, err)
	}
	return find("/sys", "/dev", filepath.Base(real), label)
}

// FindIn returns the partition whose GPT name is label, reading the block
// devices the kernel knows from sysRoot/class/block/*/uevent (PARTNAME=,
// DEVNAME=, PARTN=) and their sizes from .../size, and naming devices under
// devRoot. The error wraps ErrNotFound when no partition has that name, and
// ErrAmbiguous when several have.
func FindIn(sysRoot, devRoot, label string) (PartitionInfo, error) {
	return find(sysRoot, devRoot, "", label)
}

// find looks for label among the partitions of the disk named disk (in
// sysfs: vda), or of every disk when disk is empty.
func find(sysRoot, devRoot, disk, label string) (PartitionInfo, error) {
	where := "any disk"
	if disk != "" {
		where = disk
	}
	classDir := filepath.Join(sysRoot, "class", "block")
	entries, err := os.ReadDir(classDir)
	if err != nil {
		return PartitionInfo{}, fmt.Errorf("find partition %s: %w", label, err)
	}
	var found []PartitionInfo
	for _, e := range entries {
		p, ok, err := readPartition(filepath.Join(classDir, e.Name()), devRoot)
		if err != nil {
			return PartitionInfo{}, fmt.Errorf("find partition %s: %w", label, err)
		}
		if !ok || p.Label != label || (disk != "" && filepath.Base(p.Disk) != disk) {
			continue
		}
		found = append(found, p)
	}
	switch len(found) {
	case 0:
		return PartitionInfo{}, fmt.Errorf("find partition %s on %s: %w", label, where, ErrNotFound)
	case 1:
		return found[0], nil
	}
	var devs []string
	for _, p := range found {
		devs = append(devs, p.Device)
	}
	sort.Strings(devs)
	return PartitionInfo{}, fmt.Errorf("find partition %s on %s: %w: %s", label, where, ErrAmbiguous, strings.Join(devs, ", "))
}

// readPartition reads the sysfs directory of one block device; ok is false
// for a device that is not a partition (or vanished meanwhile).
func readPartition(dir, devRoot string) (p PartitionInfo, ok bool, err error) {
	ev, err := os.ReadFile(filepath.Join(dir, "uevent"))
	if errors.Is(err, os.ErrNotExist) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	u := parseUevent(ev)
	if u["DEVTYPE"] != "partition" && u["PARTN"] == "" {
		return p, false, nil
	}
	if u["DEVNAME"] == "" {
		return p, false, fmt.Errorf("%s/uevent: no DEVNAME", dir)
	}
	n, err := strconv.Atoi(u["PARTN"])
	if err != nil {
		return p, false, fmt.Errorf("%s/uevent: PARTN: %w", dir, err)
	}
	sectors, err := readUint(filepath.Join(dir, "size"))
	if errors.Is(err, os.ErrNotExist) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	// The device's sysfs directory sits in its disk's (class/block/vda3 is
	// a link to .../block/vda/vda3).
	real, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, os.ErrNotExist) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	return PartitionInfo{
		Disk:   filepath.Join(devRoot, filepath.Base(filepath.Dir(real))),
		Device: filepath.Join(devRoot, u["DEVNAME"]),
		Label:  u["PARTNAME"],
		Number: n,
		Size:   int64(sectors) * 512, // sysfs sizes are in 512-byte sectors whatever the device's
	}, true, nil
}

// parseUevent reads KEY=VALUE lines.
func parseUevent(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m
}

// readUint reads a file holding one decimal number.
func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}
