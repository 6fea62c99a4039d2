// Package deb unpacks Debian binary packages without dpkg: a .deb is an ar
// archive whose "data.tar[.xz|.zst|.gz]" member holds the files.
// Extraction goes through an os.Root, so no entry (nor a symlink an
// earlier entry made) can write outside the target directory.
package deb

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Extract unpacks the data archive of the .deb file at debPath into dir,
// which must exist. Owners are not kept; modes and symlinks are.
func Extract(debPath, dir string) error {
	f, err := os.Open(debPath)
	if err != nil {
		return fmt.Errorf("extract deb: %w", err)
	}
	defer f.Close()
	data, name, err := dataArchive(f)
	if err != nil {
		return fmt.Errorf("extract %s: %w", debPath, err)
	}
	if err := untar(data, dir); err != nil {
		return fmt.Errorf("extract %s (%s): %w", debPath, name, err)
	}
	return nil
}

// dataArchive finds the data member and returns it decompressed.
func dataArchive(r io.Reader) (io.Reader, string, error) {
	ar, err := newARReader(r)
	if err != nil {
		return nil, "", err
	}
	for {
		name, member, err := ar.next()
		if errors.Is(err, io.EOF) {
			return nil, "", errors.New("no data.tar member")
		}
		if err != nil {
			return nil, "", err
		}
		if !strings.HasPrefix(name, "data.tar") {
			continue
		}
		dec, err := decompressor(strings.TrimPrefix(name, "data.tar"), member)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
		return dec, name, nil
	}
}

func decompressor(ext string, r io.Reader) (io.Reader, error) {
	switch ext {
	case "":
		return r, nil
	case ".gz":
		return gzip.NewReader(r)
	case ".xz":
		return xz.NewReader(r)
	case ".zst":
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("unsupported compression %q", ext)
}

func untar(r io.Reader, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		name, ok := cleanName(h.Name)
		if !ok {
			return fmt.Errorf("entry %q escapes the package root", h.Name)
		}
		if name == "." {
			continue
		}
		if err := extractEntry(root, tr, h, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
}

// cleanName turns "./lib/x" into "lib/x"; names with ".." are refused.
func cleanName(n string) (string, bool) {
	n = strings.TrimPrefix(n, "./")
	n = strings.TrimPrefix(n, "/")
	if n == "" {
		return ".", true
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", false
		}
	}
	return path.Clean(n), true
}

func extractEntry(root *os.Root, tr *tar.Reader, h *tar.Header, name string) error {
	perm := fs.FileMode(h.Mode) & fs.ModePerm
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := root.MkdirAll(name, perm|0o700); err != nil {
			return err
		}
		return root.Chmod(name, perm)
	case tar.TypeReg:
		f, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case tar.TypeSymlink:
		return root.Symlink(h.Linkname, name)
	case tar.TypeLink:
		target, ok := cleanName(h.Linkname)
		if !ok {
			return fmt.Errorf("hard link to %q escapes the package root", h.Linkname)
		}
		return root.Link(target, name)
	}
	return fmt.Errorf("unsupported tar entry type %q", h.Typeflag)
}
