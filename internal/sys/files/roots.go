// Package files gives machined's Read, List and Copy RPCs read-only access
// to the node's files under a few allowed roots.
//
// Every path is resolved one component at a time from a directory handle of
// the root (Roots.Root), without following symlinks in the kernel: a
// symlink's target is read and resolved by this package, inside Root, so a
// link can never lead outside Root, and a path whose resolved form is not
// under an allowed root is refused. Files are then opened relative to the
// directory handles found on the way (openat with O_NOFOLLOW), so a file
// swapped for a symlink after the check is refused, not followed.
//
// Nothing here writes to the file system.
package files

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// DefaultAllowed are the roots machined serves by default: configuration,
// the writable /var (logs, kubelet and etcd data) and the kernel's proc and
// sys trees. /system is left out: it holds the machine config and the node's
// private keys, which only GetConfiguration (admin) returns. Reading /proc
// exposes other processes' environments and memory maps, so apid must keep
// these RPCs for trusted roles.
var DefaultAllowed = []string{"/etc", "/proc", "/sys", "/var"}

// Errors matched with errors.Is, so machined can map them to API statuses.
var (
	// ErrInvalidPath is a path that is empty, relative or holds ".." or NUL.
	ErrInvalidPath = errors.New("invalid path")
	// ErrNotAllowed is a path (or a symlink's target) outside the allowed roots.
	ErrNotAllowed = errors.New("outside the allowed roots")
	// ErrIsDirectory is returned by Open for a directory.
	ErrIsDirectory = errors.New("is a directory: use list")
	// ErrNotRegular is returned by Open for devices, sockets and pipes.
	ErrNotRegular = errors.New("not a regular file")
	// ErrIncomplete is returned by Copy when it wrote a whole archive but
	// had to leave out entries it could not read.
	ErrIncomplete = errors.New("some entries could not be read")
)

// Roots is a read-only view of the node's files under allowed roots.
type Roots struct {
	// Allowed are absolute directories (user-visible paths) whose contents
	// may be read, such as DefaultAllowed; none means nothing is allowed.
	// They must be real directories under Root, not symlinks.
	Allowed []string
	// Root is the directory the user-visible "/" maps to: empty or "/" on a
	// node; in container mode and in tests, "/var/log/x" is read from
	// "<Root>/var/log/x".
	Root string
}

// hostRoot returns the host directory of the user-visible "/".
func (r Roots) hostRoot() string {
	if r.Root == "" {
		return "/"
	}
	return r.Root
}

// allowed returns the cleaned allowed roots, refusing relative ones.
func (r Roots) allowed() ([]string, error) {
	if len(r.Allowed) == 0 {
		return nil, fmt.Errorf("%w: no roots are allowed", ErrNotAllowed)
	}
	out := make([]string, len(r.Allowed))
	for i, a := range r.Allowed {
		if !path.IsAbs(a) {
			return nil, fmt.Errorf("allowed root %q is not absolute", a)
		}
		out[i] = path.Clean(a)
	}
	return out, nil
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	return dir == "/" || p == dir || strings.HasPrefix(p, dir+"/")
}

// isAllowed reports whether p is inside one of the allowed roots.
func isAllowed(p string, allowed []string) bool {
	for _, a := range allowed {
		if within(p, a) {
			return true
		}
	}
	return false
}

// isOnTheWay reports whether p is inside an allowed root or a directory
// that must be crossed to reach one (such as "/" for "/var").
func isOnTheWay(p string, allowed []string) bool {
	for _, a := range allowed {
		if within(p, a) || within(a, p) {
			return true
		}
	}
	return false
}

// notAllowed builds the error for a path outside the allowed roots; when a
// symlink led there, resolved names the place.
func notAllowed(op, userPath, resolved string, allowed []string) error {
	where := ""
	if resolved != "" && resolved != userPath {
		where = " (it resolves to " + resolved + ")"
	}
	return fmt.Errorf("%s %s%s: %w (allowed: %s)", op, userPath, where, ErrNotAllowed, strings.Join(allowed, ", "))
}

// checkPath validates a user-visible path and returns it cleaned: it must be
// absolute, hold no ".." component and no NUL, and lie under an allowed root.
func (r Roots) checkPath(op, p string) (string, []string, error) {
	allowed, err := r.allowed()
	if err != nil {
		return "", nil, fmt.Errorf("%s %s: %w", op, p, err)
	}
	switch {
	case p == "":
		return "", nil, fmt.Errorf("%s: %w: empty path", op, ErrInvalidPath)
	case strings.ContainsRune(p, 0):
		return "", nil, fmt.Errorf("%s %q: %w: NUL in path", op, p, ErrInvalidPath)
	case !path.IsAbs(p):
		return "", nil, fmt.Errorf("%s %s: %w: the path must be absolute", op, p, ErrInvalidPath)
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return "", nil, fmt.Errorf("%s %s: %w: \"..\" is not allowed", op, p, ErrInvalidPath)
		}
	}
	clean := path.Clean(p)
	if !isAllowed(clean, allowed) {
		return "", nil, notAllowed(op, clean, "", allowed)
	}
	return clean, allowed, nil
}
