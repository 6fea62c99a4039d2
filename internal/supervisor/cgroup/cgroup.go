// Package cgroup places supervised processes in their own cgroup v2 groups,
// <cgroup2 mount>/<root>/<service>, and applies optional resource limits.
//
// A Manager probes once whether the cgroup2 hierarchy is writable; when it is
// not (a read-only /sys in a container, cgroup v1 only), it says why once and
// every service runs in the supervisor's own group instead.
//
//	Create ──▶ Group (process started into FD) ──Close──▶ kill leftovers, rmdir
package cgroup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultRoot is the group, below the cgroup2 mount, that holds every
// service's group.
const DefaultRoot = "system"

// controllers are enabled for the service groups when the kernel offers them.
var controllers = []string{"cpu", "memory", "pids"}

// Options configure a Manager.
type Options struct {
	// Mount is the cgroup2 mount point; found in /proc/self/mountinfo when
	// empty.
	Mount string
	// Root is the parent group of all services, relative to Mount;
	// DefaultRoot when empty.
	Root string
	// Logger receives the one-time availability report; slog.Default when nil.
	Logger *slog.Logger
}

// Manager creates service groups. It is safe for concurrent use.
type Manager struct {
	opts   Options
	logger *slog.Logger

	once sync.Once
	base string
	err  error
}

// NewManager returns a Manager; nothing is touched until first use.
func NewManager(opts Options) *Manager {
	if opts.Root == "" {
		opts.Root = DefaultRoot
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Manager{opts: opts, logger: logger.With("component", "cgroup")}
}

// Available reports why service groups cannot be created, or nil when they
// can. The probe runs once; its outcome is logged once.
func (m *Manager) Available() error {
	m.once.Do(func() {
		m.base, m.err = m.probe()
		if m.err != nil {
			m.logger.Info("cgroup v2 unavailable, services share the supervisor's cgroup", "reason", m.err)
			return
		}
		m.logger.Info("cgroup v2 groups enabled", "path", m.base)
	})
	return m.err
}

// Base is the directory holding the service groups ("" when unavailable).
func (m *Manager) Base() string {
	if m.Available() != nil {
		return ""
	}
	return m.base
}

func (m *Manager) probe() (string, error) {
	mount := m.opts.Mount
	if mount == "" {
		f, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			return "", fmt.Errorf("read mounts: %w", err)
		}
		defer f.Close()
		if mount, err = FindCgroup2(f); err != nil {
			return "", err
		}
	}
	base := filepath.Join(mount, filepath.Clean("/"+m.opts.Root))
	if err := os.Mkdir(base, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("create root group: %w", err)
	}
	if err := unix.Access(filepath.Join(base, "cgroup.procs"), unix.W_OK); err != nil {
		return "", fmt.Errorf("%s is not writable: %w", base, err)
	}
	m.enableControllers(mount, base)
	return base, nil
}

// enableControllers delegates the wanted controllers down to the service
// groups. Failure only means limits cannot be applied, so it is logged.
func (m *Manager) enableControllers(mount, base string) {
	offered, err := os.ReadFile(filepath.Join(mount, "cgroup.controllers"))
	if err != nil {
		m.logger.Warn("cannot read cgroup controllers, limits disabled", "error", err)
		return
	}
	var wanted []string
	for _, c := range controllers {
		if hasWord(string(offered), c) {
			wanted = append(wanted, c)
		}
	}
	if len(wanted) == 0 {
		m.logger.Info("no cgroup controllers offered, limits disabled")
		return
	}
	for _, dir := range []string{mount, base} {
		if err := enableIn(dir, wanted); err != nil {
			m.logger.Warn("cannot enable cgroup controllers, limits disabled", "error", err)
			return
		}
	}
}

// enableIn enables the wanted controllers for dir's children, writing only
// those not enabled yet (so a host's own setup is left as it is).
func enableIn(dir string, wanted []string) error {
	enabled, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return err
	}
	var add []string
	for _, c := range wanted {
		if !hasWord(string(enabled), c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	return writeFile(dir, "cgroup.subtree_control", strings.Join(add, " "))
}

// Create makes (or reuses) the group for the service name, applies limits
// and opens it for CLONE_INTO_CGROUP.
func (m *Manager) Create(name string, limits Limits) (*Group, error) {
	if err := m.Available(); err != nil {
		return nil, fmt.Errorf("cgroup for %s: %w", name, err)
	}
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return nil, fmt.Errorf("cgroup for %q: invalid name", name)
	}
	path := filepath.Join(m.base, name)
	if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	g := &Group{path: path}
	if populated, err := g.Populated(); err == nil && populated {
		// Left over from an earlier run that was not cleaned up.
		m.logger.Warn("killing stale processes in service cgroup", "group", path)
		_ = g.Kill()
	}
	for _, missing := range limits.apply(path) {
		m.logger.Warn("cgroup limit not applied, controller not enabled", "group", path, "file", missing)
	}
	dir, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("open cgroup: %w", err)
	}
	g.dir = dir
	return g, nil
}

// Group is one service's cgroup.
type Group struct {
	path string
	dir  *os.File
}

// Path is the group's directory.
func (g *Group) Path() string { return g.path }

// FD is the open directory, for SysProcAttr.CgroupFD.
func (g *Group) FD() int { return int(g.dir.Fd()) }

// Kill sends SIGKILL to every process in the group.
func (g *Group) Kill() error {
	err := writeFile(g.path, "cgroup.kill", "1")
	if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// Kernels before 5.14 have no cgroup.kill: signal the members one by one.
	procs, err := os.ReadFile(filepath.Join(g.path, "cgroup.procs"))
	if err != nil {
		return fmt.Errorf("list cgroup members: %w", err)
	}
	for _, f := range strings.Fields(string(procs)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 0 {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	return nil
}

// Populated reports whether any process is still in the group or below it.
func (g *Group) Populated() (bool, error) {
	events, err := os.ReadFile(filepath.Join(g.path, "cgroup.events"))
	if err != nil {
		return false, fmt.Errorf("read cgroup events: %w", err)
	}
	return hasLine(string(events), "populated 1"), nil
}

// Close kills what is left in the group, waits for it to empty (until ctx
// is done) and removes it.
func (g *Group) Close(ctx context.Context) error {
	defer g.dir.Close()
	for {
		populated, err := g.Populated()
		if err != nil {
			return err
		}
		if !populated {
			break
		}
		if err := g.Kill(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cgroup %s did not empty: %w", g.path, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := unix.Rmdir(g.path); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove cgroup %s: %w", g.path, err)
	}
	return nil
}

func writeFile(dir, name, value string) error {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err // an *os.PathError that names the file
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", value, path, err)
	}
	return nil
}

func hasWord(s, word string) bool {
	for _, w := range strings.Fields(s) {
		if w == word {
			return true
		}
	}
	return false
}

func hasLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}
