package procfs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Statfs returns the total and available bytes of the file system mounted at
// path, as df(1) counts them (blocks of the fragment size; available to
// unprivileged users). It is the statfs argument of Mounts on a node.
func Statfs(path string) (size, avail uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	bsize := uint64(st.Frsize)
	if bsize == 0 {
		bsize = uint64(st.Bsize)
	}
	return st.Blocks * bsize, st.Bavail * bsize, nil
}
