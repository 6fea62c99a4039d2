package files

import (
	"fmt"
	"path"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/plinth-os/plinth/api/machine"
)

// entry is one directory entry met by a walk.
type entry struct {
	name   string      // user-visible path
	rel    string      // path relative to the walk's start (or its parent, for Copy)
	dir    int         // handle of the parent directory, valid during visit
	base   string      // name in dir
	stated bool        // st holds the entry's lstat
	st     unix.Stat_t // valid when stated
	link   string      // target, for a symlink
	err    error       // why the entry or its contents could not be read
}

// info converts e into the API's FileInfo.
func (e *entry) info() *machine.FileInfo {
	fi := &machine.FileInfo{Name: e.name, RelativeName: e.rel, Link: e.link}
	if e.err != nil {
		fi.Error = e.err.Error()
	}
	if e.stated {
		fi.Size = e.st.Size
		fi.Mode = uint32(fileMode(e.st.Mode))
		fi.Modified = e.st.Mtim.Sec
		fi.IsDir = e.st.Mode&unix.S_IFMT == unix.S_IFDIR
	}
	return fi
}

// walker walks a directory tree below an open directory handle, entry by
// entry in name order, without following symlinks. Entries that cannot be
// read are visited with err set; an error from visit ends the walk.
type walker struct {
	// descend reports whether to enter a directory found at level (1 for
	// the start directory's children).
	descend func(level int) bool
	visit   func(e *entry) error
}

// walk visits the entries of the directory fd (open for reading), whose
// user-visible path is name and relative path rel.
func (w walker) walk(fd int, name, rel string, level int) error {
	names, err := readDirNames(fd)
	if err != nil {
		return w.visit(&entry{name: name, rel: rel, dir: -1, err: fmt.Errorf("read directory: %w", err)})
	}
	for _, base := range names {
		e := &entry{name: path.Join(name, base), rel: path.Join(rel, base), dir: fd, base: base}
		child := w.inspect(e, level)
		err := w.visit(e)
		if err == nil && child >= 0 {
			err = w.walk(child, e.name, e.rel, level+1)
		}
		if child >= 0 {
			unix.Close(child) //nolint:errcheck // read-only directory
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// inspect fills in e's stat and link target and, for a directory to
// descend into, opens it and returns its handle (else -1).
func (w walker) inspect(e *entry, level int) int {
	if err := fstatat(e.dir, e.base, &e.st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		e.err = fmt.Errorf("lstat: %w", err)
		return -1
	}
	e.stated = true
	switch e.st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		link, err := readlinkat(e.dir, e.base)
		if err != nil {
			e.err = fmt.Errorf("readlink: %w", err)
		}
		e.link = link
	case unix.S_IFDIR:
		if !w.descend(level) {
			return -1
		}
		child, err := openEntry(e.dir, e.base, &e.st, unix.O_DIRECTORY)
		if err != nil {
			e.err = fmt.Errorf("open directory: %w", err)
			return -1
		}
		return child
	}
	return -1
}

// readDirNames returns the names in the directory fd, sorted, without "."
// and "..".
func readDirNames(fd int) ([]string, error) {
	buf := make([]byte, 16*1024)
	var names []string
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	sort.Strings(names)
	return names, nil
}

// List emits the file or directory at req.Root and, for a directory, its
// entries: only the children without req.Recurse, else the whole tree down
// to req.RecursionDepth levels (0: no limit). The directory itself comes
// first with relative name "."; symlinks are reported with their target
// and not followed (a symlink given as req.Root is). Entries that cannot be
// read are emitted with their error; an error from emit ends the listing.
func (r Roots) List(req *machine.ListRequest, emit func(*machine.FileInfo) error) error {
	const op = "list"
	n, rs, err := r.resolveChecked(op, req.GetRoot())
	if err != nil {
		return err
	}
	defer n.close()
	requested := path.Clean(req.GetRoot())
	top := &entry{name: requested, rel: ".", stated: true, st: n.st}
	if n.st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return emit(top.info())
	}
	fd, err := openEntry(n.dir, n.name, &n.st, unix.O_DIRECTORY)
	if err != nil {
		return rs.fail(op, requested, err)
	}
	defer unix.Close(fd) //nolint:errcheck // read-only directory
	if err := emit(top.info()); err != nil {
		return err
	}
	depth := int(req.GetRecursionDepth())
	w := walker{
		descend: func(level int) bool { return req.GetRecurse() && (depth <= 0 || level < depth) },
		visit:   func(e *entry) error { return emit(e.info()) },
	}
	return w.walk(fd, requested, ".", 1)
}
