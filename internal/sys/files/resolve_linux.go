package files

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds the symlinks followed while resolving one path, as the
// kernel's MAXSYMLINKS does.
const maxSymlinks = 40

// System calls that can fail on unreadable files go through these
// variables, so tests running as root can inject permission errors.
var (
	openat  = unix.Openat
	fstatat = unix.Fstatat
)

// escapeError says that resolving a path (through a symlink) led to
// visible, outside the allowed roots.
type escapeError struct{ visible string }

// Error names where the path led.
func (e *escapeError) Error() string {
	return "resolves to " + e.visible + ", " + ErrNotAllowed.Error()
}

// Unwrap makes the error match ErrNotAllowed.
func (e *escapeError) Unwrap() error { return ErrNotAllowed }

// fail wraps an error of operation op on the user's path p.
func (rs resolver) fail(op, p string, err error) error {
	var esc *escapeError
	if errors.As(err, &esc) {
		return notAllowed(op, p, esc.visible, rs.allowed)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == p {
		return fmt.Errorf("%s %s: %w", op, p, pe.Err)
	}
	return fmt.Errorf("%s %s: %w", op, p, err)
}

// node is a resolved path: the entry name in an open directory. When the
// path is a directory reached through "..", "." or a link to a directory,
// name is "." and dir is that directory.
type node struct {
	dir     int         // O_PATH handle of the parent directory (owned)
	name    string      // entry in dir
	visible string      // symlink-free user-visible path
	st      unix.Stat_t // lstat of the entry
}

// close releases the directory handle.
func (n *node) close() { unix.Close(n.dir) } //nolint:errcheck // O_PATH handle

// resolver resolves user-visible paths under a root directory.
type resolver struct {
	root    string   // host directory of "/"
	allowed []string // cleaned allowed roots
}

// resolve resolves p (clean, absolute) under the root, following symlinks
// (the last component's only when followLast) by reading their targets and
// resolving them in turn under the root. Every directory crossed must be an
// allowed root, inside one or on the way to one; otherwise ErrNotAllowed.
func (rs resolver) resolve(p string, followLast bool) (*node, error) {
	dir, err := rs.openPath(nil)
	if err != nil {
		return nil, err
	}
	s := &resolution{rs: rs, dir: dir, pending: splitPath(p), followLast: followLast}
	for len(s.pending) > 0 {
		n, err := s.step()
		if err != nil {
			if s.dir >= 0 {
				unix.Close(s.dir) //nolint:errcheck // O_PATH handle
			}
			return nil, err
		}
		if n != nil {
			return n, nil
		}
	}
	return rs.dirNode(s.dir, s.cur)
}

// resolution is the state of one resolve: the directory reached so far,
// its visible components and the components still to walk.
type resolution struct {
	rs         resolver
	followLast bool
	dir        int      // O_PATH handle of the directory reached; -1 after a failure
	cur        []string // visible components of dir
	pending    []string
	links      int // symlinks followed so far
}

// step walks the next pending component and returns the node if it was
// the last one.
func (s *resolution) step() (*node, error) {
	name := s.pending[0]
	s.pending = s.pending[1:]
	switch name {
	case ".":
		return nil, nil
	case "..":
		if len(s.cur) > 0 {
			s.cur = s.cur[:len(s.cur)-1]
		}
		return nil, s.reopen()
	}
	visible := path.Join(joinPath(s.cur), name)
	if !isOnTheWay(visible, s.rs.allowed) {
		return nil, &escapeError{visible: path.Join(append([]string{visible}, s.pending...)...)}
	}
	var st unix.Stat_t
	if err := fstatat(s.dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: visible, Err: err}
	}
	last := len(s.pending) == 0
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK && (!last || s.followLast):
		return nil, s.follow(name, visible)
	case last:
		return &node{dir: s.dir, name: name, visible: visible, st: st}, nil
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return nil, &fs.PathError{Op: "resolve", Path: visible, Err: unix.ENOTDIR}
	}
	next, err := openat(s.dir, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: visible, Err: err}
	}
	unix.Close(s.dir) //nolint:errcheck // O_PATH handle
	s.dir, s.cur = next, append(s.cur, name)
	return nil, nil
}

// follow replaces the symlink name (at visible) by its target's components.
func (s *resolution) follow(name, visible string) error {
	if s.links++; s.links > maxSymlinks {
		return &fs.PathError{Op: "resolve", Path: visible, Err: unix.ELOOP}
	}
	target, err := readlinkat(s.dir, name)
	if err != nil {
		return &fs.PathError{Op: "readlink", Path: visible, Err: err}
	}
	s.pending = append(splitPath(target), s.pending...)
	if path.IsAbs(target) {
		s.cur = nil
		return s.reopen()
	}
	return nil
}

// reopen replaces dir by a fresh handle of the directory at cur, opened
// from the root, as ".." must not be taken from the kernel (it could step
// above the root).
func (s *resolution) reopen() error {
	unix.Close(s.dir) //nolint:errcheck // O_PATH handle
	s.dir = -1
	dir, err := s.rs.openPath(s.cur)
	if err != nil {
		return err
	}
	s.dir = dir
	return nil
}

// dirNode describes the directory dir itself, reached at the end of a path.
func (rs resolver) dirNode(dir int, cur []string) (*node, error) {
	n := &node{dir: dir, name: ".", visible: joinPath(cur)}
	if err := fstatat(dir, ".", &n.st, 0); err != nil {
		n.close()
		return nil, &fs.PathError{Op: "stat", Path: n.visible, Err: err}
	}
	return n, nil
}

// openPath opens the root and then each of the components, refusing
// symlinks, and returns an O_PATH handle of the last directory.
func (rs resolver) openPath(components []string) (int, error) {
	dir, err := unix.Open(rs.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open root", Path: rs.root, Err: err}
	}
	for i, c := range components {
		next, err := openat(dir, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(dir) //nolint:errcheck // O_PATH handle
		if err != nil {
			return -1, &fs.PathError{Op: "open", Path: joinPath(components[:i+1]), Err: err}
		}
		dir = next
	}
	return dir, nil
}

// readlinkat returns the target of the symlink name in dir.
func readlinkat(dir int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dir, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
		if size >= 1<<16 {
			return "", errors.New("link target too long")
		}
	}
}

// openEntry opens the entry name in dir for reading (non-blocking, so that
// pseudo-files that would wait for data fail instead) without following a
// symlink, and checks that it is still the file st describes.
func openEntry(dir int, name string, st *unix.Stat_t, flags int) (int, error) {
	fd, err := openat(dir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY|flags, 0)
	if err != nil {
		return -1, err
	}
	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err != nil {
		unix.Close(fd) //nolint:errcheck // failing anyway
		return -1, err
	}
	if now.Dev != st.Dev || now.Ino != st.Ino {
		unix.Close(fd) //nolint:errcheck // failing anyway
		return -1, errors.New("replaced while it was opened")
	}
	return fd, nil
}

// hazards are files whose reading does harm: they are never read.
var hazards = map[string]string{
	"/proc/kmsg":  "reading it consumes the kernel log (use dmesg)",
	"/proc/kcore": "it is an image of kernel memory",
}

// splitPath splits a path into its non-empty components.
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// joinPath returns the absolute path of components.
func joinPath(components []string) string {
	return "/" + strings.Join(components, "/")
}
