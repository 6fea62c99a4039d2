package disk

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// Test readers of what Partition writes (the node finds its partitions in
// sysfs; the QEMU provisioner reads GPTs on the host with its own code).

// Installed reports whether the disk (block device or image file) at dev
// carries Plinth's GPT: its first four partitions are EFI, META, STATE and
// EPHEMERAL, with their types, in that order. A disk without a valid GPT is
// not installed; an error means the disk could not be read.
func Installed(dev string) (bool, error) {
	parts, err := readGPT(dev)
	if err != nil || parts == nil {
		return false, err
	}
	if len(parts) < len(layoutNames) {
		return false, nil
	}
	for i, name := range layoutNames {
		p := parts[i]
		if p.Index != i+1 || p.Name != name || !strings.EqualFold(string(p.Type), layoutTypes[i]) {
			return false, nil
		}
	}
	return true, nil
}

// readGPT returns the partitions of the GPT on dev, nil when dev has no
// valid GPT (neither the primary nor the backup).
func readGPT(dev string) ([]*gpt.Partition, error) {
	d, err := diskfs.Open(dev, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		return nil, fmt.Errorf("read GPT of %s: %w", dev, err)
	}
	defer d.Close()
	t, err := gpt.Read(d.Backend, int(d.LogicalBlocksize), int(d.PhysicalBlocksize))
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return nil, fmt.Errorf("read GPT of %s: %w", dev, err)
		}
		return nil, nil // no GPT: not a signature, checksum or layout we accept
	}
	return t.Partitions, nil
}
