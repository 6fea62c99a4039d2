package qemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

// BootMode is how a node's QEMU boots the guest; it is chosen anew at
// every start.
type BootMode string

// Boot modes.
const (
	// BootLive boots the image's kernel directly (qboot or QEMU's own
	// firmware) with plinth.config= on its command line: the first boot,
	// from which machined installs to the disk, and every boot of a node
	// that is not installed.
	BootLive BootMode = "live"
	// BootDisk boots the installed disk through OVMF and systemd-boot.
	BootDisk BootMode = "disk"
)

// installedPartitions are the GPT partition names of an installed disk
// (docs/decisions/0002-disk-install-and-upgrades.md).
var installedPartitions = []string{"EFI", "META", "STATE", "EPHEMERAL"}

// espLoader is the boot loader an installed ESP holds, at the removable
// media path that OVMF boots without a boot entry.
const espLoader = "/EFI/BOOT/BOOTX64.EFI"

// chooseBootMode decides how the node boots from its disk's contents:
// BootDisk when the disk is installed and the UEFI firmware is there,
// else BootLive. why says what decided it, for the log.
func chooseBootMode(disk string, uefi bool) (mode BootMode, why string) {
	installed, why := diskInstalled(disk)
	switch {
	case !installed:
		return BootLive, why
	case !uefi:
		return BootLive, why + ", but OVMF is not installed (apt-get install ovmf): booting live"
	}
	return BootDisk, why
}

// diskInstalled reports whether the raw disk image at path carries an
// installed Plinth: a GPT with the partitions EFI, META, STATE and
// EPHEMERAL, and systemd-boot at espLoader on the ESP. A GPT whose ESP
// lacks the loader is an install that did not finish; the live boot
// installs again. An ESP this reader cannot parse is trusted to boot.
func diskInstalled(path string) (bool, string) {
	d, err := diskfs.Open(path, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		return false, fmt.Sprintf("disk %s unreadable: %v", path, err)
	}
	defer d.Close()
	pt, err := d.GetPartitionTable()
	if err != nil {
		return false, "no partition table on the disk"
	}
	table, ok := pt.(*gpt.Table)
	if !ok {
		return false, "no GPT on the disk"
	}
	index := map[string]int{}
	for _, p := range table.Partitions {
		if p != nil && p.Start > 0 {
			index[p.Name] = p.Index
		}
	}
	for _, name := range installedPartitions {
		if index[name] == 0 {
			return false, "the disk's GPT has no partition " + name
		}
	}
	fs, err := d.GetFilesystem(index["EFI"])
	if err != nil {
		return true, fmt.Sprintf("Plinth's GPT on the disk (ESP not checked: %v)", err)
	}
	f, err := fs.OpenFile(espLoader, os.O_RDONLY)
	if err != nil {
		return false, "Plinth's GPT on the disk but no " + espLoader + " on its ESP (an unfinished install)"
	}
	f.Close()
	return true, "Plinth installed on the disk"
}

// createDisk makes a node's disk: a sparse file of sizeMiB, left as it is
// when it exists (a node keeps its disk until the cluster is destroyed).
func createDisk(path string, sizeMiB int) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create disk %s: %w", path, err)
	}
	err = f.Truncate(int64(sizeMiB) << 20)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("size disk %s to %d MiB: %w", path, sizeMiB, err)
	}
	return nil
}

// copyVars gives a node its own UEFI variable store, a copy of the
// firmware's template, unless it has one.
func copyVars(path, template string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	src, err := os.Open(template)
	if err != nil {
		return fmt.Errorf("UEFI variable store template: %w", err)
	}
	defer src.Close()
	data, err := io.ReadAll(src)
	if err != nil {
		return fmt.Errorf("read %s: %w", template, err)
	}
	if err := fsutil.WriteFileAtomic(path, data, 0o600); err != nil {
		return fmt.Errorf("UEFI variable store of a node: %w", err)
	}
	return nil
}

// createDisks makes every node's disk and variable store.
func createDisks(s *Spec, varsTemplate string) error {
	for _, n := range s.Nodes {
		if err := createDisk(n.Disk, n.DiskMiB); err != nil {
			return err
		}
		if n.Vars != "" {
			if err := copyVars(n.Vars, varsTemplate); err != nil {
				return err
			}
		}
	}
	return nil
}

// BundlePath is the URL path of the boot bundle on the config server.
const BundlePath = "/" + BundleFile

// BundleURL is where the nodes of a cluster on subnet fetch the boot
// bundle they install from.
func BundleURL(subnet netip.Prefix) string {
	return "http://" + netip.AddrPortFrom(gatewayOf(subnet), ServerPort).String() + BundlePath
}

// InstallPatch is the machine config patch that installs a QEMU node of a
// cluster on subnet to its disk from the bundle the launcher serves.
func InstallPatch(subnet netip.Prefix) []byte {
	data, _ := json.Marshal(map[string]any{"machine": map[string]any{"install": map[string]string{
		"disk": InstallDisk, "image": BundleURL(subnet),
	}}})
	return data
}

// HasBundle reports whether the image directory holds a boot bundle.
func HasBundle(imageDir string) bool {
	_, err := os.Stat(filepath.Join(imageDir, BundleFile))
	return err == nil
}

// diskUsage returns a sparse disk's size and the bytes it takes on the
// host.
func diskUsage(path string) (size, used int64, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("disk: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		used = st.Blocks * 512
	}
	return fi.Size(), used, nil
}
