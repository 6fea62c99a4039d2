//go:build linux

// Package mount wraps the mount system calls of early boot: mounting file
// systems (creating their mount points), overlays, moving mounts and
// switching the root directory.
package mount

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Point is one mount: Source of type FSType on Target.
type Point struct {
	// Source is the device or a name ("proc", "tmpfs").
	Source string
	// Target is the mount point, created (0755) when missing.
	Target string
	// FSType is the file system type.
	FSType string
	// Flags are MS_* flags.
	Flags uintptr
	// Data are file-system options ("mode=0755").
	Data string
}

// String describes the mount for logs and errors.
func (p Point) String() string {
	return fmt.Sprintf("%s on %s type %s", p.Source, p.Target, p.FSType)
}

// Mount creates the mount point and mounts p.
func (p Point) Mount() error {
	if err := os.MkdirAll(p.Target, 0o755); err != nil {
		return fmt.Errorf("mount %s: %w", p, err)
	}
	if err := unix.Mount(p.Source, p.Target, p.FSType, p.Flags, p.Data); err != nil {
		return fmt.Errorf("mount %s: %w", p, err)
	}
	return nil
}

// Overlay returns an overlay mount of upper over the read-only lower
// directory on target; work must be an empty directory on upper's file
// system.
func Overlay(lower, upper, work, target string) (Point, error) {
	for _, d := range []string{lower, upper, work} {
		if d == "" || strings.ContainsAny(d, ",:\\") {
			return Point{}, fmt.Errorf("overlay on %s: directory %q is empty or has ',', ':' or '\\'", target, d)
		}
	}
	return Point{
		Source: "overlay", Target: target, FSType: "overlay",
		Data: fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work),
	}, nil
}

// Move moves the mount at source (and the mounts below it) to target,
// creating target when missing.
func Move(source, target string) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("move mount %s to %s: %w", source, target, err)
	}
	if err := unix.Mount(source, target, "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move mount %s to %s: %w", source, target, err)
	}
	return nil
}

// SwitchRoot makes newRoot, a mount point, the root directory of the
// calling process: chdir into it, move it over /, chroot to it. The old
// root's files stay in memory unless the caller removed them first.
func SwitchRoot(newRoot string) error {
	if err := unix.Chdir(newRoot); err != nil {
		return fmt.Errorf("switch root to %s: chdir: %w", newRoot, err)
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("switch root to %s: move to /: %w", newRoot, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("switch root to %s: chroot: %w", newRoot, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("switch root to %s: chdir /: %w", newRoot, err)
	}
	return nil
}

// IsMountPoint reports whether path is the root of a mount (its device
// differs from its parent's, or it is "/").
func IsMountPoint(path string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	if err := unix.Lstat(path+"/..", &parent); err != nil {
		return false, fmt.Errorf("stat %s/..: %w", path, err)
	}
	return st.Dev != parent.Dev || st.Ino == parent.Ino, nil
}
