//go:build linux

// Package cgroup2 prepares the cgroup v2 hierarchy on metal before any
// service starts: it mounts cgroup2 at /sys/fs/cgroup when nothing did
// (init normally does), and enables the controllers services need in the
// root's cgroup.subtree_control, so that the supervisor's per-service
// groups can be given limits.
package cgroup2

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultMount is where the hierarchy lives.
const DefaultMount = "/sys/fs/cgroup"

// Wanted are the controllers enabled when the kernel offers them: those
// the supervisor limits (cpu, memory, pids, io) and those kubelet expects
// (cpuset, hugetlb).
var Wanted = []string{"cpu", "cpuset", "io", "memory", "pids", "hugetlb"}

// Mounted reports whether dir is the root of a cgroup2 file system.
func Mounted(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return st.Type == unix.CGROUP2_SUPER_MAGIC, nil
}

// Ensure mounts cgroup2 at dir unless it is mounted there already, then
// enables the wanted controllers (see Enable). It returns whether it
// mounted and the controllers enabled.
func Ensure(dir string, wanted []string) (mounted bool, enabled []string, err error) {
	ok, err := Mounted(dir)
	if err != nil {
		return false, nil, err
	}
	if !ok {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, nil, fmt.Errorf("mount cgroup2: %w", err)
		}
		flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
		if err := unix.Mount("cgroup2", dir, "cgroup2", flags, "nsdelegate"); err != nil {
			return false, nil, fmt.Errorf("mount cgroup2 on %s: %w", dir, err)
		}
		mounted = true
	}
	enabled, err = Enable(dir, wanted)
	return mounted, enabled, err
}

// Enable writes "+name" to dir/cgroup.subtree_control for every wanted
// controller listed in dir/cgroup.controllers, all at once and, should the
// kernel refuse that, one by one. It returns the controllers enabled; the
// error names those that could not be.
func Enable(dir string, wanted []string) ([]string, error) {
	offered, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Errorf("cgroup controllers: %w", err)
	}
	available := strings.Fields(string(offered))
	var want []string
	for _, c := range wanted {
		if slices.Contains(available, c) {
			want = append(want, c)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	control := filepath.Join(dir, "cgroup.subtree_control")
	if err := write(control, plus(want)); err == nil {
		return want, nil
	}
	var enabled []string
	var errs []error
	for _, c := range want {
		if err := write(control, plus([]string{c})); err != nil {
			errs = append(errs, fmt.Errorf("enable %s: %w", c, err))
			continue
		}
		enabled = append(enabled, c)
	}
	return enabled, errors.Join(errs...)
}

func plus(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "+" + n
	}
	return strings.Join(out, " ")
}

func write(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(s)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}
