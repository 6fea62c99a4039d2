package disk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Bounds of Reread.
const (
	rereadTries    = 10
	rereadBackoff  = 200 * time.Millisecond
	nodesTimeout   = 5 * time.Second
	nodesPollEvery = 50 * time.Millisecond
)

// Reread asks the kernel to re-read the partition table of the whole-disk
// block device dev (BLKRRPART, retried while the device is busy) and waits,
// up to 5 s, for the device nodes of its partitions to appear under /dev
// (devtmpfs creates them).
func Reread(dev string) error {
	return reread(dev, "/sys", "/dev", nodesTimeout)
}

func reread(dev, sysRoot, devRoot string, timeout time.Duration) error {
	real, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return fmt.Errorf("reread partitions of %s: %w", dev, err)
	}
	if err := blkrrpart(real); err != nil {
		return fmt.Errorf("reread partitions of %s: %w", dev, err)
	}
	if err := waitNodes(filepath.Base(real), sysRoot, devRoot, timeout); err != nil {
		return fmt.Errorf("reread partitions of %s: %w", dev, err)
	}
	return nil
}

// blkrrpart runs BLKRRPART on the block device at path, retrying on EBUSY
// (a transient opener, such as a udev probe on a host).
func blkrrpart(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
		return errors.New("not a block device")
	}
	for try := 1; ; try++ {
		err = unix.IoctlSetInt(int(f.Fd()), unix.BLKRRPART, 0)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || try == rereadTries {
			if errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("BLKRRPART: %w (a device without partition support, such as a loop device without partition scanning?)", err)
			}
			return fmt.Errorf("BLKRRPART (try %d): %w", try, err)
		}
		time.Sleep(rereadBackoff)
	}
}

// waitNodes waits until every partition sysfs lists for the disk named
// disk has its device node under devRoot.
func waitNodes(disk, sysRoot, devRoot string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		missing, err := missingNodes(disk, sysRoot, devRoot)
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("partition device nodes did not appear within %v: %s", timeout, strings.Join(missing, ", "))
		}
		time.Sleep(nodesPollEvery)
	}
}

// missingNodes lists the device nodes of the disk's partitions (in sysfs,
// the subdirectories of /sys/class/block/<disk> holding a "partition" file)
// that are not under devRoot yet.
func missingNodes(disk, sysRoot, devRoot string) ([]string, error) {
	dir := filepath.Join(sysRoot, "class", "block", disk)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "partition")); err != nil {
			continue
		}
		node := filepath.Join(devRoot, e.Name())
		if _, err := os.Stat(node); errors.Is(err, os.ErrNotExist) {
			missing = append(missing, node)
		}
	}
	sort.Strings(missing)
	return missing, nil
}
