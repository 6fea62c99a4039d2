package meta

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/plinth-os/plinth/internal/install/disk"
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
	size, err := disk.DeviceSize(f)
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
