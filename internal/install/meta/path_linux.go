package meta

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// OpenPath opens the block device (the META partition) or file at path
// read-write and returns its store, over the whole device or file, and the
// closer of the open file. The size is the file's size, or the block
// device's (BLKGETSIZE64).
func OpenPath(path string) (*Store, io.Closer, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("meta: open %s: %w", path, err)
	}
	size, err := deviceSize(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("meta: open %s: %w", path, err)
	}
	s, err := Open(f, size)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("meta: open %s: %w", path, err)
	}
	return s, f, nil
}

// deviceSize is the size in bytes of an open regular file or block device.
func deviceSize(f *os.File) (int64, error) {
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
