package initapp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/plinth-os/plinth/internal/sys/kmod"
	"github.com/plinth-os/plinth/internal/sys/loop"
	"github.com/plinth-os/plinth/internal/sys/mount"
	"golang.org/x/sys/unix"
)

// linuxSystem is the real machine.
func linuxSystem() system {
	return system{
		uptime:   uptime,
		mount:    func(p mount.Point) error { return p.Mount() },
		unmount:  func(target string) error { return unix.Unmount(target, unix.MNT_DETACH) },
		move:     mount.Move,
		mkdirAll: func(p string) error { return os.MkdirAll(p, 0o755) },
		attachLoop: func(path string) (string, io.Closer, error) {
			dev, err := loop.Attach(path, loop.Options{ReadOnly: true})
			if err != nil {
				return "", nil, err
			}
			return dev.Path, dev, nil
		},
		moduleLoaded:   func(name string) bool { return kmod.IsLoaded("/sys/module", name) },
		loadModule:     func(p string) (kmod.Result, error) { return kmod.Load(p, "") },
		readFile:       os.ReadFile,
		writeFile:      func(p string, data []byte) error { return os.WriteFile(p, data, 0) },
		cleanInitramfs: cleanInitramfs,
		switchRoot:     mount.SwitchRoot,
		exec: func(path string, argv, env []string) error {
			return unix.Exec(path, argv, env)
		},
	}
}

// uptime reads CLOCK_BOOTTIME, the clock of the kernel's log timestamps.
func uptime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func reboot() {
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
}

// cleanInitramfs removes every file of the initramfs root except keep (the
// new root's mount point), like switch_root(8), so its memory is freed.
// It refuses unless / is a ramfs or tmpfs, and it never crosses into
// another file system.
func cleanInitramfs(keep string) (int, error) {
	var fs unix.Statfs_t
	if err := unix.Statfs("/", &fs); err != nil {
		return 0, fmt.Errorf("statfs /: %w", err)
	}
	if fs.Type != unix.RAMFS_MAGIC && fs.Type != unix.TMPFS_MAGIC {
		return 0, fmt.Errorf("/ is not an initramfs (file system magic %#x)", fs.Type)
	}
	var root unix.Stat_t
	if err := unix.Lstat("/", &root); err != nil {
		return 0, fmt.Errorf("stat /: %w", err)
	}
	entries, err := os.ReadDir("/")
	if err != nil {
		return 0, fmt.Errorf("read /: %w", err)
	}
	n := 0
	var errs []error
	for _, e := range entries {
		p := "/" + e.Name()
		if p == keep {
			continue
		}
		c, err := removeOnDevice(p, root.Dev)
		n += c
		if err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// removeOnDevice removes p and what is below it, skipping anything on
// another device (a mount point). It returns the count of removed files.
func removeOnDevice(p string, dev uint64) (int, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return 0, fmt.Errorf("stat %s: %w", p, err)
	}
	if st.Dev != dev {
		return 0, nil
	}
	n := 0
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		entries, err := os.ReadDir(p)
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", p, err)
		}
		for _, e := range entries {
			c, err := removeOnDevice(filepath.Join(p, e.Name()), dev)
			n += c
			if err != nil {
				return n, err
			}
		}
		if err := unix.Rmdir(p); err != nil && !errors.Is(err, unix.EBUSY) {
			return n, fmt.Errorf("remove %s: %w", p, err)
		}
		return n, nil
	}
	if err := unix.Unlink(p); err != nil {
		return n, fmt.Errorf("remove %s: %w", p, err)
	}
	return n + 1, nil
}
