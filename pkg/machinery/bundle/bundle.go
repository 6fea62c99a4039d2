// Package bundle reads and writes Plinth's boot bundle: the unit that
// `make image` builds and that machined installs into a boot slot.
//
// A bundle is an uncompressed tar archive of exactly three regular files, in
// this order:
//
//	manifest.json   Manifest: format, Plinth version, kernel release, arch,
//	                and the size and SHA-256 of each following file
//	vmlinuz         the kernel
//	initramfs       the initramfs (init, modules, rootfs.sqsh)
//
// The manifest comes first so that a reader can check the two files while
// it streams them, without holding the bundle in memory or on disk:
//
//	Read ─▶ manifest.json (≤ MaxManifestSize, Validate)
//	     ─▶ vmlinuz   ─▶ open("vmlinuz", size)   ─▶ copy + sha256 ─▶ compare ─▶ Close
//	     ─▶ initramfs ─▶ open("initramfs", size) ─▶ copy + sha256 ─▶ compare ─▶ Close
//	     ─▶ end of archive ─▶ Manifest
//
// Errors about the bundle's content (as opposed to errors of the reader or
// of the writers) wrap ErrInvalid.
package bundle

import (
	"errors"
	"fmt"
	"regexp"
)

// Names of the bundle's entries, and the format this package reads and
// writes.
const (
	// ManifestName is the first entry: the JSON-encoded Manifest.
	ManifestName = "manifest.json"
	// KernelName is the kernel image (bzImage).
	KernelName = "vmlinuz"
	// InitrdName is the initramfs.
	InitrdName = "initramfs"
	// FormatVersion is Manifest.Format of the bundles this package handles.
	FormatVersion = 1
)

// Limits that keep hostile input from exhausting memory or disk.
const (
	// MaxManifestSize bounds the manifest entry; a larger one is refused
	// before it is read.
	MaxManifestSize = 64 << 10
	// MaxFileSize bounds each of the kernel and the initramfs.
	MaxFileSize = 1 << 30
	// maxString bounds the manifest's version, kernel release and arch.
	maxString = 128
)

// ErrInvalid is wrapped by every error that is about the bundle itself: a
// malformed or unsupported manifest, a missing, extra, misplaced or
// non-regular entry, a size or checksum mismatch, a truncated archive.
var ErrInvalid = errors.New("invalid boot bundle")

// File describes one file of the bundle after the manifest.
type File struct {
	// Name is the entry's name: KernelName or InitrdName.
	Name string `json:"name"`
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the lowercase hex SHA-256 of the file's content.
	SHA256 string `json:"sha256"`
}

// Manifest is the content of manifest.json.
type Manifest struct {
	// Format is FormatVersion.
	Format int `json:"format"`
	// Version is the Plinth version of the image (version.Tag of its
	// machined).
	Version string `json:"version"`
	// KernelRelease is the kernel's release (uname -r).
	KernelRelease string `json:"kernelRelease"`
	// Arch is the Go architecture the image runs on (amd64). Read does
	// not compare it with the running machine's: that is the installer's
	// decision.
	Arch string `json:"arch"`
	// Files are the kernel and the initramfs, in the order of the archive.
	Files []File `json:"files"`
}

var (
	versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+~-]*$`)
	archRE    = regexp.MustCompile(`^[a-z0-9_]+$`)
)

// fileOrder is the order of the files in the manifest and in the archive.
var fileOrder = [...]string{KernelName, InitrdName}

// Validate checks the manifest: the supported format, a version, kernel
// release and arch made of printable identifier characters, and exactly the
// kernel then the initramfs, each with a size in (0, MaxFileSize] and a
// lowercase hex SHA-256.
func (m Manifest) Validate() error {
	if m.Format != FormatVersion {
		return invalidf("manifest: format %d, this reader knows %d", m.Format, FormatVersion)
	}
	for _, f := range []struct {
		name, value string
		re          *regexp.Regexp
	}{
		{"version", m.Version, versionRE},
		{"kernelRelease", m.KernelRelease, versionRE},
		{"arch", m.Arch, archRE},
	} {
		if f.value == "" {
			return invalidf("manifest: %s is empty", f.name)
		}
		if len(f.value) > maxString || !f.re.MatchString(f.value) {
			return invalidf("manifest: %s %.40q is not a valid value", f.name, f.value)
		}
	}
	if len(m.Files) != len(fileOrder) {
		return invalidf("manifest: %d files, want %s then %s", len(m.Files), KernelName, InitrdName)
	}
	for i, f := range m.Files {
		if f.Name != fileOrder[i] {
			return invalidf("manifest: file %d is %.40q, want %s", i+1, f.Name, fileOrder[i])
		}
		if f.Size <= 0 || f.Size > MaxFileSize {
			return invalidf("manifest: %s: size %d is not in 1..%d", f.Name, f.Size, int64(MaxFileSize))
		}
		if !isSHA256(f.SHA256) {
			return invalidf("manifest: %s: sha256 %.80q is not 64 lowercase hex digits", f.Name, f.SHA256)
		}
	}
	return nil
}

// isSHA256 reports whether s is 64 lowercase hex digits.
func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// invalidf returns an error wrapping ErrInvalid.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
