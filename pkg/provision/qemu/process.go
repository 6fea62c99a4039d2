package qemu

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a process of a cluster: its launcher or one of its QEMUs.
type proc struct {
	PID  int
	Role string // "launcher" or "qemu <node>"
}

// clusterProcs finds the processes of the cluster whose state is in dir by
// their command lines under procRoot (/proc): the launcher runs with
// "--state-dir DIR", each QEMU with "-pidfile DIR/NODE.pid". This finds
// them even when the state directory is gone.
func clusterProcs(procRoot, dir string) ([]proc, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	dir = filepath.Clean(dir)
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		if role := roleOf(strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00"), dir); role != "" {
			out = append(out, proc{PID: pid, Role: role})
		}
	}
	slices.SortFunc(out, func(a, b proc) int { return a.PID - b.PID })
	return out, nil
}

// roleOf says what a command line is to the cluster of dir, or "".
func roleOf(args []string, dir string) string {
	for i := 0; i+1 < len(args); i++ {
		switch {
		case args[i] == "--state-dir" && filepath.Clean(args[i+1]) == dir:
			return "launcher"
		case args[i] == "-pidfile" && filepath.Dir(args[i+1]) == dir:
			return "qemu " + strings.TrimSuffix(filepath.Base(args[i+1]), ".pid")
		}
	}
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--state-dir="); ok && filepath.Clean(v) == dir {
			return "launcher"
		}
	}
	return ""
}

// alive reports whether pid is a process that has not exited (zombies
// count as exited).
func alive(procRoot string, pid int) bool {
	if pid <= 0 {
		return false
	}
	stat, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || (stat[i+2] != 'Z' && stat[i+2] != 'X')
}

// stopProcs sends SIGTERM to procs, waits until they are gone or ctx or
// grace ends, then kills the rest and waits for them once more.
func stopProcs(ctx context.Context, procRoot string, procs []proc, grace time.Duration) error {
	send := func(sig syscall.Signal) {
		for _, p := range procs {
			_ = syscall.Kill(p.PID, sig) // ESRCH: gone already
		}
	}
	gone := func() bool {
		for _, p := range procs {
			if alive(procRoot, p.PID) {
				return false
			}
		}
		return true
	}
	wait := func(d time.Duration) bool {
		deadline := time.Now().Add(d)
		for !gone() {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return false
			}
			time.Sleep(50 * time.Millisecond)
		}
		return true
	}
	send(syscall.SIGTERM)
	if wait(grace) {
		return nil
	}
	send(syscall.SIGKILL)
	if wait(5 * time.Second) {
		return nil
	}
	var left []string
	for _, p := range procs {
		if alive(procRoot, p.PID) {
			left = append(left, fmt.Sprintf("%s (pid %d)", p.Role, p.PID))
		}
	}
	return fmt.Errorf("processes still running after SIGKILL: %s", strings.Join(left, ", "))
}
