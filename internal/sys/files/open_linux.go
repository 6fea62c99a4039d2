package files

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// resolveChecked validates the user's path p for operation op, resolves it
// (following a final symlink) and checks that the result is allowed. The
// caller closes the returned node.
func (r Roots) resolveChecked(op, p string) (*node, resolver, error) {
	clean, allowed, err := r.checkPath(op, p)
	if err != nil {
		return nil, resolver{}, err
	}
	rs := resolver{root: r.hostRoot(), allowed: allowed}
	n, err := rs.resolve(clean, true)
	if err != nil {
		return nil, rs, rs.fail(op, clean, err)
	}
	if !isAllowed(n.visible, allowed) {
		n.close()
		return nil, rs, notAllowed(op, clean, n.visible, allowed)
	}
	return n, rs, nil
}

// Open opens the regular file at the user-visible absolute path p for
// reading. It refuses relative paths, ".." components, paths and symlink
// targets outside the allowed roots, directories (ErrIsDirectory) and
// devices, sockets and pipes (ErrNotRegular).
func (r Roots) Open(p string) (io.ReadCloser, error) {
	const op = "read"
	n, rs, err := r.resolveChecked(op, p)
	if err != nil {
		return nil, err
	}
	defer n.close()
	switch n.st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		return nil, fmt.Errorf("%s %s: %w", op, n.visible, ErrIsDirectory)
	default:
		return nil, fmt.Errorf("%s %s: %w", op, n.visible, ErrNotRegular)
	}
	if why, ok := hazards[n.visible]; ok {
		return nil, fmt.Errorf("%s %s: %w: %s", op, n.visible, ErrNotAllowed, why)
	}
	fd, err := openEntry(n.dir, n.name, &n.st, 0)
	if err == nil {
		err = unix.SetNonblock(fd, false)
	}
	if err != nil {
		if fd >= 0 {
			unix.Close(fd) //nolint:errcheck // failing anyway
		}
		return nil, rs.fail(op, n.visible, err)
	}
	return os.NewFile(uintptr(fd), n.visible), nil
}
