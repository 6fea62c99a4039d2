package files

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// smallFile is the size under which a file is read whole before its
	// header is written: pseudo-files (proc, sysfs) report sizes of 0 or
	// 4096 whatever their contents.
	smallFile = 64 << 10
	// maxBuffered bounds what is read of such a file.
	maxBuffered = 4 << 20
	// maxSkipReports bounds the skipped entries named in Copy's error.
	maxSkipReports = 20
)

// Copy writes a gzipped tar of the file or directory tree at the
// user-visible path p to w, with names relative to p's parent ("/var/log"
// gives "log/", "log/messages", ...). Regular files, directories and
// symlinks (as links, not followed) are archived; sockets, devices and pipes
// are left out. Entries that cannot be read are left out too, and once the
// archive is complete Copy returns an error matching ErrIncomplete that
// names them. Cancelling ctx stops the copy, leaving the archive truncated.
func (r Roots) Copy(ctx context.Context, p string, w io.Writer) error {
	const op = "copy"
	n, rs, err := r.resolveChecked(op, p)
	if err != nil {
		return err
	}
	defer n.close()
	requested := path.Clean(p)
	base := path.Base(requested)
	if base == "/" {
		base = "."
	}
	gz := gzip.NewWriter(w)
	c := &copier{ctx: ctx, tw: tar.NewWriter(gz)}
	top := &entry{name: requested, rel: base, dir: n.dir, base: n.name, stated: true, st: n.st}
	switch n.st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		err = c.copyTree(top)
	case unix.S_IFREG:
		err = c.add(top)
	default:
		err = ErrNotRegular
	}
	if err == nil {
		err = c.tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		return rs.fail(op, requested, err)
	}
	return c.incomplete(op, requested)
}

// copier writes walked entries to a tar stream.
type copier struct {
	ctx     context.Context
	tw      *tar.Writer
	skipped []error
	nSkip   int
}

// copyTree archives the directory top and everything below it.
func (c *copier) copyTree(top *entry) error {
	fd, err := openEntry(top.dir, top.base, &top.st, unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(fd) //nolint:errcheck // read-only directory
	if err := c.add(top); err != nil {
		return err
	}
	w := walker{descend: func(int) bool { return true }, visit: c.add}
	return w.walk(fd, top.name, top.rel, 1)
}

// skip records an entry left out of the archive.
func (c *copier) skip(name string, err error) {
	c.nSkip++
	if len(c.skipped) < maxSkipReports {
		c.skipped = append(c.skipped, fmt.Errorf("%s: %w", name, err))
	}
}

// incomplete returns the ErrIncomplete error for the skipped entries, or nil.
func (c *copier) incomplete(op, p string) error {
	if c.nSkip == 0 {
		return nil
	}
	more := ""
	if c.nSkip > len(c.skipped) {
		more = fmt.Sprintf(" (the first %d shown)", len(c.skipped))
	}
	return fmt.Errorf("%s %s: %w: %d left out of the archive%s: %w",
		op, p, ErrIncomplete, c.nSkip, more, errors.Join(c.skipped...))
}

// header returns the tar header of a stated entry.
func header(e *entry) *tar.Header {
	return &tar.Header{
		Name:    e.rel,
		Mode:    int64(e.st.Mode & 0o7777),
		Uid:     int(e.st.Uid),
		Gid:     int(e.st.Gid),
		ModTime: time.Unix(e.st.Mtim.Sec, e.st.Mtim.Nsec),
	}
}

// add writes one entry; unreadable ones are recorded as skipped. Only
// errors of the context and of the output end the copy.
func (c *copier) add(e *entry) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	if e.err != nil {
		c.skip(e.name, e.err)
		return nil
	}
	hdr := header(e)
	switch e.st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
	case unix.S_IFLNK:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.link
	case unix.S_IFREG:
		return c.addFile(e, hdr)
	default:
		return nil // sockets, devices, pipes
	}
	return c.tw.WriteHeader(hdr)
}

// addFile writes a regular file. Small files are read whole first, so the
// header holds their real size; larger ones are streamed with the size
// they had when opened, padded with zeros (and reported) if they shrink.
func (c *copier) addFile(e *entry, hdr *tar.Header) error {
	if why, ok := hazards[e.name]; ok {
		c.skip(e.name, errors.New(why))
		return nil
	}
	fd, err := openEntry(e.dir, e.base, &e.st, 0)
	if err != nil {
		c.skip(e.name, fmt.Errorf("open: %w", err))
		return nil
	}
	defer unix.Close(fd) //nolint:errcheck // read-only file
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		c.skip(e.name, fmt.Errorf("stat: %w", err))
		return nil
	}
	src := fdReader{ctx: c.ctx, fd: fd}
	if st.Size < smallFile {
		data, err := io.ReadAll(io.LimitReader(src, maxBuffered+1))
		if err != nil || len(data) > maxBuffered {
			if cerr := c.ctx.Err(); cerr != nil {
				return cerr
			}
			c.skip(e.name, fmt.Errorf("read: %w", errOr(err, "larger than the 4 MiB read from a pseudo-file")))
			return nil
		}
		hdr.Size = int64(len(data))
		if err := c.tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err = c.tw.Write(data)
		return err
	}
	hdr.Size = st.Size
	if err := c.tw.WriteHeader(hdr); err != nil {
		return err
	}
	return c.stream(e.name, src, st.Size)
}

// stream copies size bytes from src to the archive; if src ends early or
// fails, the rest is zeros and the entry is reported as skipped.
func (c *copier) stream(name string, src io.Reader, size int64) error {
	buf := make([]byte, 32*1024)
	for left := size; left > 0; {
		n, rerr := src.Read(buf[:min(int64(len(buf)), left)])
		if n > 0 {
			if _, err := c.tw.Write(buf[:n]); err != nil {
				return err
			}
			left -= int64(n)
		}
		if rerr == nil {
			continue
		}
		if err := c.ctx.Err(); err != nil {
			return err
		}
		c.skip(name, fmt.Errorf("read after %d of %d bytes (rest zero-filled): %w", size-left, size, rerr))
		clear(buf)
		for left > 0 {
			n := min(int64(len(buf)), left)
			if _, err := c.tw.Write(buf[:n]); err != nil {
				return err
			}
			left -= n
		}
	}
	return nil
}

// errOr returns err, or a new error with text when err is nil.
func errOr(err error, text string) error {
	if err != nil {
		return err
	}
	return errors.New(text)
}

// fdReader reads a raw (non-blocking) file descriptor, stopping when ctx is
// done.
type fdReader struct {
	ctx context.Context
	fd  int
}

// Read reads from the descriptor; it returns io.EOF at the end.
func (r fdReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	for {
		n, err := unix.Read(r.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}
