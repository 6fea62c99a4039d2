package disk

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"golang.org/x/sys/unix"
)

// FormatEFI makes a FAT32 file system labelled "EFI" on partition 1 of the
// whole-disk device or image file at dev, which must be the EFI partition of
// Plinth's layout.
func FormatEFI(dev string) error {
	d, err := diskfs.Open(dev, diskfs.WithOpenMode(diskfs.ReadWriteExclusive))
	if err != nil {
		return fmt.Errorf("format EFI on %s: %w", dev, err)
	}
	defer d.Close()
	if err := checkEFI(d); err != nil {
		return fmt.Errorf("format EFI on %s: %w", dev, err)
	}
	fs, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: 1, FSType: filesystem.TypeFat32, VolumeLabel: LabelEFI})
	if err != nil {
		return fmt.Errorf("format EFI on %s: %w", dev, err)
	}
	if err := fs.Close(); err != nil {
		return fmt.Errorf("format EFI on %s: %w", dev, err)
	}
	f, err := d.Backend.Sys()
	if err != nil {
		return fmt.Errorf("format EFI on %s: %w", dev, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("format EFI on %s: sync: %w", dev, err)
	}
	if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeDevice != 0 {
		// The file system went through the whole disk: drop whatever the
		// partition's own device still caches, so a mount reads it anew.
		real, err := filepath.EvalSymlinks(dev)
		if err != nil {
			return fmt.Errorf("format EFI on %s: %w", dev, err)
		}
		if err := flushBuffers(PartitionDevice(real, 1)); err != nil {
			return fmt.Errorf("format EFI on %s: %w", dev, err)
		}
	}
	return nil
}

// checkEFI makes sure partition 1 of d is the EFI partition.
func checkEFI(d *disk.Disk) error {
	t, ok := d.Table.(*gpt.Table)
	if !ok {
		return errors.New("no GPT")
	}
	for _, p := range t.Partitions {
		if p.Index != 1 {
			continue
		}
		if p.Name != LabelEFI || !strings.EqualFold(string(p.Type), TypeEFI) {
			return fmt.Errorf("partition 1 is %q of type %s, not %s of type %s", p.Name, p.Type, LabelEFI, TypeEFI)
		}
		return nil
	}
	return errors.New("no partition 1")
}

// flushBuffers writes back and drops the buffer cache of the block device
// at path (BLKFLSBUF); a missing device node has nothing cached.
func flushBuffers(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("flush buffers of %s: %w", path, err)
	}
	defer f.Close()
	if err := unix.IoctlSetInt(int(f.Fd()), unix.BLKFLSBUF, 0); err != nil {
		return fmt.Errorf("flush buffers of %s: BLKFLSBUF: %w", path, err)
	}
	return nil
}

// Options tune the formatting of ext4 file systems.
type Options struct {
	// Mkfs is the mkfs.ext4 program; when empty it is looked up on PATH,
	// then in /usr/sbin and /sbin.
	Mkfs string
}

// FormatExt4 makes an ext4 file system labelled label on the partition
// device partDev, with mkfs.ext4 found as Options documents.
func FormatExt4(partDev, label string) error {
	return Options{}.FormatExt4(partDev, label)
}

// FormatExt4 makes an ext4 file system labelled label (at most 16 bytes) on
// the partition device partDev: mkfs.ext4 -F -q -L label -m 0 -E nodiscard
// (no blocks reserved for root; no discard, which is slow on some disks and
// pointless on a fresh image).
func (o Options) FormatExt4(partDev, label string) error {
	if len(label) > 16 {
		return fmt.Errorf("format ext4 on %s: label %q is longer than 16 bytes", partDev, label)
	}
	mkfs, err := o.mkfs()
	if err != nil {
		return fmt.Errorf("format ext4 on %s: %w", partDev, err)
	}
	var out bytes.Buffer
	cmd := exec.Command(mkfs, "-F", "-q", "-L", label, "-m", "0", "-E", "nodiscard", partDev)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("format ext4 on %s: %s: %w: %s", partDev, mkfs, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// mkfs finds the mkfs.ext4 program.
func (o Options) mkfs() (string, error) {
	if o.Mkfs != "" {
		return o.Mkfs, nil
	}
	if p, err := exec.LookPath("mkfs.ext4"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("mkfs.ext4 not found on PATH, in /usr/sbin or /sbin")
}

// Wipe zeroes the first and the last MiB of the partition device (or file)
// at partDev, so no file system signature is left on it: the file system
// that was there is gone. A block device is opened exclusively, so Wipe
// refuses a mounted partition.
func Wipe(partDev string) error {
	fi, err := os.Stat(partDev)
	if err != nil {
		return fmt.Errorf("wipe %s: %w", partDev, err)
	}
	flags := os.O_WRONLY | unix.O_CLOEXEC
	if fi.Mode()&os.ModeDevice != 0 {
		flags |= unix.O_EXCL
	}
	f, err := os.OpenFile(partDev, flags, 0)
	if err != nil {
		return fmt.Errorf("wipe %s: %w", partDev, err)
	}
	defer f.Close()
	size, err := DeviceSize(f)
	if err != nil {
		return fmt.Errorf("wipe %s: %w", partDev, err)
	}
	zeros := make([]byte, min(size, MiB))
	for _, off := range []int64{0, max(size-MiB, 0)} {
		if _, err := f.WriteAt(zeros, off); err != nil {
			return fmt.Errorf("wipe %s: write at %d: %w", partDev, off, err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("wipe %s: sync: %w", partDev, err)
	}
	return nil
}

// DeviceSize is the size in bytes of an open regular file or block device
// (BLKGETSIZE64).
func DeviceSize(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	switch {
	case fi.Mode().IsRegular():
		return fi.Size(), nil
	case fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0:
		n, err := unix.IoctlGetUint64(int(f.Fd()), unix.BLKGETSIZE64)
		if err != nil {
			return 0, fmt.Errorf("BLKGETSIZE64: %w", err)
		}
		return int64(n), nil
	default:
		return 0, fmt.Errorf("not a regular file or block device (mode %v)", fi.Mode())
	}
}
