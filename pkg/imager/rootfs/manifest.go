package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ManifestLine is one entry of the manifest.
type ManifestLine struct {
	// Kind is 'd' (directory), 'f' (file) or 'l' (link).
	Kind byte
	// Mode is the permission bits and fs.ModeSticky.
	Mode fs.FileMode
	// Size is a file's length (0 for others).
	Size int64
	// SHA256 is a file's checksum ("-" for others).
	SHA256 string
	// Path is the absolute path in the root file system.
	Path string
	// Target is a link's target.
	Target string
}

// String formats the line as "<kind> <mode> <size> <sha256> <path>[ -> target]".
func (m ManifestLine) String() string {
	perm := uint32(m.Mode.Perm())
	if m.Mode&fs.ModeSticky != 0 {
		perm |= 0o1000
	}
	s := fmt.Sprintf("%c %04o %d %s %s", m.Kind, perm, m.Size, m.SHA256, m.Path)
	if m.Kind == 'l' {
		s += " -> " + m.Target
	}
	return s
}

// Manifest describes every entry of a staged tree, sorted by path.
func Manifest(dir string) ([]ManifestLine, error) {
	var out []ManifestLine
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := ManifestLine{Mode: info.Mode() & (fs.ModePerm | fs.ModeSticky), SHA256: "-", Path: "/" + filepath.ToSlash(rel)}
		switch {
		case d.IsDir():
			line.Kind = 'd'
		case d.Type()&fs.ModeSymlink != 0:
			line.Kind, line.Mode = 'l', 0o777
			if line.Target, err = os.Readlink(p); err != nil {
				return err
			}
		case d.Type().IsRegular():
			line.Kind, line.Size = 'f', info.Size()
			if line.SHA256, err = fileSHA256(p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unexpected file type %s", line.Path, d.Type())
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", dir, err)
	}
	return out, nil
}

// FormatManifest writes manifest lines with a header.
func FormatManifest(w io.Writer, lines []ManifestLine) error {
	var b strings.Builder
	b.WriteString("# Plinth rootfs manifest: <kind d|f|l> <mode> <size> <sha256> <path>[ -> <link target>]\n")
	for _, l := range lines {
		b.WriteString(l.String())
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
