package initapp

import (
	"io"
	"time"

	"github.com/plinth-os/plinth/internal/sys/kmod"
	"github.com/plinth-os/plinth/internal/sys/mount"
)

// system is every effect init has on the machine, so the boot sequence
// runs against a fake in unit tests; linuxSystem is the real one.
type system struct {
	// uptime is the time since the kernel started (CLOCK_BOOTTIME).
	uptime func() time.Duration
	// mount mounts p, creating its mount point.
	mount func(p mount.Point) error
	// unmount detaches the mount at target.
	unmount func(target string) error
	// move moves the mount at src to dst.
	move func(src, dst string) error
	// mkdirAll creates a directory and its parents.
	mkdirAll func(path string) error
	// attachLoop binds a file to a read-only loop device; close it after
	// mounting.
	attachLoop func(path string) (dev string, c io.Closer, err error)
	// moduleLoaded reports whether the kernel has a module by name.
	moduleLoaded func(name string) bool
	// loadModule inserts a module file.
	loadModule func(path string) (kmod.Result, error)
	// readFile reads a whole file.
	readFile func(path string) ([]byte, error)
	// writeFile writes an existing file (a sysctl).
	writeFile func(path string, data []byte) error
	// cleanInitramfs frees the initramfs's files except keep.
	cleanInitramfs func(keep string) (int, error)
	// switchRoot makes a mount point the root directory.
	switchRoot func(newRoot string) error
	// exec replaces init with a program.
	exec func(path string, argv, env []string) error
}
