package cpio

import (
	"fmt"
	"io"
)

// Dir writes a directory entry owned by root.
func (w *Writer) Dir(name string, perm uint32) error {
	return w.WriteHeader(&Header{Name: name, Mode: TypeDir | perm&0o7777})
}

// Symlink writes a symbolic link to target.
func (w *Writer) Symlink(name, target string) error {
	if err := w.WriteHeader(&Header{Name: name, Mode: TypeSymlink | 0o777, Size: int64(len(target))}); err != nil {
		return err
	}
	_, err := w.Write([]byte(target))
	return err
}

// CharDev writes a character device node.
func (w *Writer) CharDev(name string, perm, major, minor uint32) error {
	return w.WriteHeader(&Header{Name: name, Mode: TypeCharDev | perm&0o7777, RDevMajor: major, RDevMinor: minor})
}

// File writes a regular file of size bytes read from r.
func (w *Writer) File(name string, perm uint32, size int64, r io.Reader) error {
	if err := w.WriteHeader(&Header{Name: name, Mode: TypeRegular | perm&0o7777, Size: size}); err != nil {
		return err
	}
	n, err := io.Copy(w, io.LimitReader(r, size))
	if err != nil {
		return fmt.Errorf("cpio: %s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("cpio: %s: got %d bytes, want %d", name, n, size)
	}
	return nil
}
