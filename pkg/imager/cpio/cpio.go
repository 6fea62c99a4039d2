// Package cpio writes "newc" (SVR4, no CRC) cpio archives, the format the
// Linux kernel unpacks as an initramfs.
//
// Each entry is a 110-byte ASCII header (magic "070701" and thirteen
// 8-digit hexadecimal fields), the NUL-terminated name padded to a
// multiple of four bytes, then the data padded the same way. The archive
// ends with an entry named "TRAILER!!!". The kernel creates entries in
// archive order, so a directory must come before what it contains.
package cpio

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// File types for Header.Mode, as in st_mode.
const (
	TypeDir     = 0o040000
	TypeRegular = 0o100000
	TypeSymlink = 0o120000
	TypeCharDev = 0o020000
	TypeMask    = 0o170000
)

const (
	magic      = "070701"
	headerSize = 110
	trailer    = "TRAILER!!!"
)

// Header describes one archive entry.
type Header struct {
	// Name is the path inside the archive, without a leading slash.
	Name string
	// Mode is the file type (Type*) ORed with the permission bits.
	Mode uint32
	// UID and GID own the entry.
	UID, GID uint32
	// MTime is the modification time in seconds since the epoch.
	MTime uint32
	// Size is the length of the data that follows (a symlink's target).
	Size int64
	// RDevMajor and RDevMinor are a device node's numbers.
	RDevMajor, RDevMinor uint32
}

// Writer writes a newc archive. Call WriteHeader, then Write exactly
// Header.Size bytes, for every entry, then Close.
type Writer struct {
	w         io.Writer
	offset    int64
	remaining int64
	ino       uint32
	closed    bool
}

// NewWriter returns a Writer that writes the archive to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, ino: 300000}
}

// WriteHeader starts a new entry, padding the previous one.
func (w *Writer) WriteHeader(h *Header) error {
	if w.closed {
		return errors.New("cpio: write after close")
	}
	if w.remaining != 0 {
		return fmt.Errorf("cpio: %d bytes of the previous entry missing", w.remaining)
	}
	if err := w.pad(); err != nil {
		return err
	}
	name := strings.TrimPrefix(h.Name, "/")
	if name == "" || strings.ContainsRune(name, 0) {
		return fmt.Errorf("cpio: invalid entry name %q", h.Name)
	}
	if h.Size < 0 || h.Size > 0xffffffff {
		return fmt.Errorf("cpio: %s: size %d out of range", name, h.Size)
	}
	if h.Mode&TypeMask == TypeDir && h.Size != 0 {
		return fmt.Errorf("cpio: directory %s with data", name)
	}
	w.ino++
	nlink := uint32(1)
	if h.Mode&TypeMask == TypeDir {
		nlink = 2
	}
	return w.writeRaw(name, w.ino, h.Mode, h.UID, h.GID, nlink, h.MTime, h.Size, h.RDevMajor, h.RDevMinor)
}

func (w *Writer) writeRaw(name string, ino, mode, uid, gid, nlink, mtime uint32, size int64, rmaj, rmin uint32) error {
	hdr := fmt.Sprintf("%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		magic, ino, mode, uid, gid, nlink, mtime, uint32(size), 0, 0, rmaj, rmin, len(name)+1, 0)
	if err := w.write([]byte(hdr + name + "\x00")); err != nil {
		return err
	}
	w.remaining = size
	return w.pad()
}

// Write writes data of the current entry.
func (w *Writer) Write(p []byte) (int, error) {
	if int64(len(p)) > w.remaining {
		return 0, fmt.Errorf("cpio: write of %d bytes exceeds the entry's remaining %d", len(p), w.remaining)
	}
	if err := w.write(p); err != nil {
		return 0, err
	}
	w.remaining -= int64(len(p))
	return len(p), nil
}

// Close pads the last entry and writes the trailer. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	if w.remaining != 0 {
		return fmt.Errorf("cpio: %d bytes of the last entry missing", w.remaining)
	}
	if err := w.pad(); err != nil {
		return err
	}
	if err := w.writeRaw(trailer, 0, 0, 0, 0, 1, 0, 0, 0, 0); err != nil {
		return err
	}
	w.closed = true
	return nil
}

func (w *Writer) write(p []byte) error {
	n, err := w.w.Write(p)
	w.offset += int64(n)
	if err != nil {
		return fmt.Errorf("cpio: %w", err)
	}
	return nil
}

func (w *Writer) pad() error {
	if n := (4 - w.offset%4) % 4; n > 0 {
		return w.write(make([]byte, n))
	}
	return nil
}
