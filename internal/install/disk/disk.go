// Package disk lays out, formats and finds the partitions of Plinth's
// system disk.
//
// The layout is a GPT (with a protective MBR) of four partitions, each
// starting on a 1 MiB boundary:
//
//	#  GPT name    type                          size     contents
//	1  EFI         EFI System Partition          600 MiB  FAT32: systemd-boot, two boot slots
//	2  META        Plinth META (TypeMeta)        1 MiB    raw, see package meta
//	3  STATE       Linux filesystem data         100 MiB  ext4: the machine config
//	4  EPHEMERAL   Linux filesystem data         rest     ext4: /var
//
// An install runs, in order:
//
//	Partition ─▶ Reread ─▶ FormatEFI ─▶ FormatExt4(STATE), FormatExt4(EPHEMERAL)
//
// and a reset runs Wipe then FormatExt4 on the partitions it clears. Find
// names a partition's device from its GPT name, through sysfs.
//
// Partition, FormatEFI and Installed use github.com/diskfs/go-diskfs and
// work on a whole-disk block device or on an image file alike.
package disk

import (
	"fmt"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// GPT partition names of the layout, in order.
const (
	LabelEFI       = "EFI"
	LabelMeta      = "META"
	LabelState     = "STATE"
	LabelEphemeral = "EPHEMERAL"
)

// Partition type GUIDs of the layout.
const (
	// TypeEFI is the EFI System Partition.
	TypeEFI = string(gpt.EFISystemPartition)
	// TypeLinux is Linux filesystem data, for STATE and EPHEMERAL.
	TypeLinux = string(gpt.LinuxFilesystem)
	// TypeMeta is Plinth's own type for META, a raw partition: no tool
	// knows it, so nothing probes or mounts it.
	TypeMeta = "001710C1-1667-4D20-82BE-470CC014885D"
)

const (
	// MiB is a mebibyte, the alignment of every partition.
	MiB = 1 << 20
	// MinEphemeral is the least EPHEMERAL may have.
	MinEphemeral = 64 * MiB
)

// Layout sizes the fixed partitions, in bytes; each is rounded up to a
// whole MiB. EPHEMERAL takes the rest of the disk.
type Layout struct {
	EFISize, MetaSize, StateSize int64
}

// DefaultLayout is the layout of an installed node.
var DefaultLayout = Layout{EFISize: 600 << 20, MetaSize: 1 << 20, StateSize: 100 << 20}

// layoutNames and layoutTypes are the partitions in order.
var (
	layoutNames = [4]string{LabelEFI, LabelMeta, LabelState, LabelEphemeral}
	layoutTypes = [4]string{TypeEFI, TypeMeta, TypeLinux, TypeLinux}
)

// Partition writes a fresh GPT (protective MBR) with the four partitions
// of l in order, 1 MiB aligned, on the whole-disk device or image file at
// dev. Whatever table was there is replaced; the partitions' contents are
// not touched (format them next). It refuses, writing nothing, a disk too
// small for l plus MinEphemeral, and (a block device being opened
// exclusively) a disk in use. The caller then has the kernel re-read the
// table (Reread).
func Partition(dev string, l Layout) error {
	d, err := diskfs.Open(dev, diskfs.WithOpenMode(diskfs.ReadWriteExclusive))
	if err != nil {
		return fmt.Errorf("partition %s: %w", dev, err)
	}
	defer d.Close()
	table, err := l.table(d.Size, d.LogicalBlocksize, d.PhysicalBlocksize)
	if err != nil {
		return fmt.Errorf("partition %s: %w", dev, err)
	}
	w, err := d.Backend.Writable()
	if err != nil {
		return fmt.Errorf("partition %s: %w", dev, err)
	}
	// Write syncs after each part (backup first, then primary).
	if err := table.Write(w, d.Size); err != nil {
		return fmt.Errorf("partition %s: write GPT: %w", dev, err)
	}
	return nil
}

// table plans the GPT of l on a disk of diskSize bytes.
func (l Layout) table(diskSize, logical, physical int64) (*gpt.Table, error) {
	if logical <= 0 || MiB%logical != 0 {
		return nil, fmt.Errorf("unsupported logical sector size %d", logical)
	}
	sizes := [3]int64{l.EFISize, l.MetaSize, l.StateSize}
	for i, s := range sizes {
		if s <= 0 {
			return nil, fmt.Errorf("layout: %s size %d is not positive", layoutNames[i], s)
		}
		sizes[i] = (s + MiB - 1) / MiB * MiB
	}
	// The GPT takes the first MiB (protective MBR, header, entries) and
	// its backup the last 33 sectors (entries, header) at 512-byte sectors.
	const entriesBytes = 128 * 128
	tail := entriesBytes + logical
	ephemeralStart := MiB + sizes[0] + sizes[1] + sizes[2]
	ephemeralEnd := (diskSize - tail) / MiB * MiB // exclusive, aligned down
	if ephemeralEnd-ephemeralStart < MinEphemeral {
		need := ephemeralStart + MinEphemeral + tail
		return nil, fmt.Errorf("disk of %d MiB is too small: the layout (EFI %d MiB, META %d MiB, STATE %d MiB, EPHEMERAL at least %d MiB, and the GPT) needs %d MiB",
			diskSize/MiB, sizes[0]/MiB, sizes[1]/MiB, sizes[2]/MiB, MinEphemeral/MiB, (need+MiB-1)/MiB)
	}
	t := &gpt.Table{
		LogicalSectorSize:  int(logical),
		PhysicalSectorSize: int(physical),
		ProtectiveMBR:      true,
	}
	start := int64(MiB)
	ends := [4]int64{start + sizes[0], start + sizes[0] + sizes[1], ephemeralStart, ephemeralEnd}
	for i, end := range ends {
		t.Partitions = append(t.Partitions, &gpt.Partition{
			Index: i + 1,
			Start: uint64(start / logical),
			End:   uint64(end/logical - 1),
			Type:  gpt.Type(layoutTypes[i]),
			Name:  layoutNames[i],
		})
		start = end
	}
	return t, nil
}
