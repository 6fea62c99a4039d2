// Package procfs reads the node's inspection data (processes, memory, mounts,
// sockets) from the proc file system and returns it as machine API messages.
//
// Every function takes the proc root, normally "/proc", so the parsing is
// tested on fixture trees under testdata without root. Files that vanish
// while they are read (a process exiting mid-walk) are skipped, not errors.
package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/plinth-os/plinth/api/machine"
)

// DefaultClockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat.
// It is 100 on every architecture Plinth supports.
const DefaultClockTicks = 100

// Options tune how raw /proc values are converted into bytes and seconds.
type Options struct {
	// PageSize is the size in bytes of a memory page (statm counts pages).
	PageSize uint64
	// ClockTicks is the number of CPU-time ticks in a second.
	ClockTicks uint64
}

// DefaultOptions returns the options for the running kernel: its page size
// and DefaultClockTicks.
func DefaultOptions() Options {
	return Options{PageSize: uint64(os.Getpagesize()), ClockTicks: DefaultClockTicks}
}

// Processes lists every process under procRoot, sorted by pid, with the
// running kernel's page size (see ProcessesWithOptions).
func Processes(procRoot string) ([]*machine.ProcessInfo, error) {
	return ProcessesWithOptions(procRoot, DefaultOptions())
}

// ProcessesWithOptions lists every process under procRoot, sorted by pid.
// Processes that exit during the walk are left out.
func ProcessesWithOptions(procRoot string, opts Options) ([]*machine.ProcessInfo, error) {
	if opts.PageSize == 0 || opts.ClockTicks == 0 {
		return nil, fmt.Errorf("processes: page size and clock ticks must be positive")
	}
	pids, err := listPIDs(procRoot)
	if err != nil {
		return nil, err
	}
	out := make([]*machine.ProcessInfo, 0, len(pids))
	for _, pid := range pids {
		info, err := readProcess(filepath.Join(procRoot, strconv.Itoa(pid)), opts)
		if isVanished(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("processes: pid %d: %w", pid, err)
		}
		out = append(out, info)
	}
	return out, nil
}

// listPIDs returns the numeric entries of procRoot in ascending order.
func listPIDs(procRoot string) ([]int, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("list processes in %s: %w", procRoot, err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	return pids, nil
}

// isVanished reports whether err means the process went away while it was
// read: its directory is gone (ENOENT) or the kernel says ESRCH.
func isVanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// readProcess reads one /proc/<pid> directory. Only stat is required; the
// other files may be unreadable (kernel threads have no exe or cmdline,
// other users' exe links need privileges) and then leave their fields empty.
func readProcess(dir string, opts Options) (*machine.ProcessInfo, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return nil, err
	}
	st, err := parseStat(string(raw))
	if err != nil {
		return nil, fmt.Errorf("parse %s/stat: %w", dir, err)
	}
	info := &machine.ProcessInfo{
		Pid:            st.pid,
		Ppid:           st.ppid,
		State:          st.state,
		Threads:        st.threads,
		CpuTime:        float64(st.utime+st.stime) / float64(opts.ClockTicks),
		VirtualMemory:  st.vsize,
		ResidentMemory: st.rssPages * opts.PageSize,
		Command:        st.comm,
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "statm")); err == nil {
		if size, resident, err := parseStatm(string(raw)); err == nil {
			info.VirtualMemory = size * opts.PageSize
			info.ResidentMemory = resident * opts.PageSize
		}
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "comm")); err == nil {
		if comm := strings.TrimSuffix(string(raw), "\n"); comm != "" {
			info.Command = comm
		}
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		info.Args = cmdlineArgs(raw)
	}
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		info.Executable = exe
	}
	return info, nil
}

// cmdlineArgs turns the NUL-separated /proc/<pid>/cmdline into one line.
func cmdlineArgs(raw []byte) string {
	raw = bytes.TrimRight(raw, "\x00")
	return string(bytes.ReplaceAll(raw, []byte{0}, []byte{' '}))
}

// stat holds the fields of /proc/<pid>/stat that ProcessInfo needs.
type stat struct {
	pid          int32
	comm         string
	state        string
	ppid         int32
	utime, stime uint64
	threads      int32
	vsize        uint64
	rssPages     uint64
}

// Field positions in /proc/<pid>/stat after the ")" closing comm, counted
// from 0 at the state field (field 3 in proc(5)).
const (
	statState   = 0
	statPPID    = 1
	statUtime   = 11
	statStime   = 12
	statThreads = 17
	statVsize   = 20
	statRSS     = 21
)

// parseStat parses /proc/<pid>/stat. The command name is between the first
// "(" and the last ")", as it may itself hold spaces and parentheses.
func parseStat(s string) (stat, error) {
	open := strings.IndexByte(s, '(')
	closing := strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return stat{}, fmt.Errorf("no (command) field in %q", truncate(s))
	}
	pid, err := strconv.ParseInt(strings.TrimSpace(s[:open]), 10, 32)
	if err != nil {
		return stat{}, fmt.Errorf("pid: %w", err)
	}
	f := strings.Fields(s[closing+1:])
	if len(f) <= statRSS {
		return stat{}, fmt.Errorf("%d fields after the command, want at least %d", len(f), statRSS+1)
	}
	st := stat{pid: int32(pid), comm: s[open+1 : closing], state: f[statState]}
	ints := []struct {
		name string
		idx  int
		dst  *uint64
	}{
		{"utime", statUtime, &st.utime},
		{"stime", statStime, &st.stime},
		{"vsize", statVsize, &st.vsize},
		{"rss", statRSS, &st.rssPages},
	}
	for _, v := range ints {
		if *v.dst, err = strconv.ParseUint(f[v.idx], 10, 64); err != nil {
			return stat{}, fmt.Errorf("%s: %w", v.name, err)
		}
	}
	ppid, err := strconv.ParseInt(f[statPPID], 10, 32)
	if err != nil {
		return stat{}, fmt.Errorf("ppid: %w", err)
	}
	threads, err := strconv.ParseInt(f[statThreads], 10, 32)
	if err != nil {
		return stat{}, fmt.Errorf("threads: %w", err)
	}
	st.ppid, st.threads = int32(ppid), int32(threads)
	return st, nil
}

// parseStatm returns the total program size and resident set size, in
// pages, from /proc/<pid>/statm.
func parseStatm(s string) (size, resident uint64, err error) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("statm: %d fields, want at least 2", len(f))
	}
	if size, err = strconv.ParseUint(f[0], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("statm size: %w", err)
	}
	if resident, err = strconv.ParseUint(f[1], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("statm resident: %w", err)
	}
	return size, resident, nil
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const maxLen = 80
	if len(s) > maxLen {
		return s[:maxLen] + "..."
	}
	return s
}
