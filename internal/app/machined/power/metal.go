package power

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Metal is the power of a real or virtual machine: flush the file
// systems, unmount what can be unmounted (best effort: a busy mount stays,
// and is synced), flush again, then reboot(2). The zero value uses the
// real system calls; tests replace them.
type Metal struct {
	// Logger reports what could not be unmounted; nil discards.
	Logger *slog.Logger
	// ProcRoot is where the mount table is read ("/proc" when empty).
	ProcRoot string

	sync    func()
	unmount func(target string) error
	reboot  func(cmd int) error
}

// Reboot restarts the machine. It returns only on failure.
func (m Metal) Reboot(ctx context.Context) error {
	return m.halt(ctx, "reboot", unix.LINUX_REBOOT_CMD_RESTART)
}

// Shutdown powers the machine off. It returns only on failure.
func (m Metal) Shutdown(ctx context.Context) error {
	return m.halt(ctx, "shutdown", unix.LINUX_REBOOT_CMD_POWER_OFF)
}

func (m Metal) halt(_ context.Context, what string, cmd int) error {
	logger := m.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "power")
	syncFS := m.sync
	if syncFS == nil {
		syncFS = unix.Sync
	}
	unmount := m.unmount
	if unmount == nil {
		unmount = func(target string) error { return unix.Unmount(target, 0) }
	}
	reboot := m.reboot
	if reboot == nil {
		reboot = unix.Reboot
	}
	syncFS()
	procRoot := m.ProcRoot
	if procRoot == "" {
		procRoot = "/proc"
	}
	if f, err := os.Open(filepath.Join(procRoot, "self", "mountinfo")); err != nil {
		logger.Warn("cannot read the mount table, nothing unmounted", "error", err)
	} else {
		targets, err := Unmountable(f)
		f.Close()
		if err != nil {
			logger.Warn("cannot read the mount table, nothing unmounted", "error", err)
		}
		for _, t := range targets {
			if err := unmount(t); err != nil {
				logger.Debug("left mounted", "target", t, "error", err)
			}
		}
	}
	syncFS()
	logger.Info("powering off the machine", "action", what)
	if err := reboot(cmd); err != nil {
		return fmt.Errorf("%s: reboot(2): %w", what, err)
	}
	return nil
}

// apiMounts are the kernel's own file systems, left mounted.
var apiMounts = []string{"/proc", "/sys", "/dev"}

// Unmountable returns the mount points of a mountinfo table that are
// worth unmounting before power off, deepest (last mounted) first: every
// mount but the root and the kernel's API file systems (/proc, /sys, /dev
// and below).
func Unmountable(mountinfo io.Reader) ([]string, error) {
	var out []string
	s := bufio.NewScanner(mountinfo)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 5 {
			continue
		}
		target := unescape(f[4])
		if target == "/" || slices.ContainsFunc(apiMounts, func(p string) bool {
			return target == p || strings.HasPrefix(target, p+"/")
		}) {
			continue
		}
		out = append(out, target)
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	slices.Reverse(out)
	return slices.Compact(out), nil
}

// unescape decodes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// Kexec starts the kernel loaded with kexec_file_load(2), like Reboot but
// without the firmware. It returns only on failure (nothing loaded).
func (m Metal) Kexec(ctx context.Context) error {
	return m.halt(ctx, "kexec", unix.LINUX_REBOOT_CMD_KEXEC)
}
