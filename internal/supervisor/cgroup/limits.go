package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuPeriod is the cpu.max period, in microseconds.
const cpuPeriod = 100000

// Limits are optional resource limits of a service group. Zero fields mean
// no limit (the kernel default), and are written as such, so a reused group
// does not keep an old limit.
type Limits struct {
	// MemoryMax is memory.max in bytes.
	MemoryMax int64
	// CPUs is cpu.max as a number of CPUs (1.5 = one and a half).
	CPUs float64
	// CPUWeight is cpu.weight, 1 to 10000 (100 by default).
	CPUWeight uint64
	// PidsMax is pids.max.
	PidsMax int64
}

// IsZero reports whether no limit is set.
func (l Limits) IsZero() bool { return l == Limits{} }

// files returns the control files to write and their values.
func (l Limits) files() map[string]string {
	f := map[string]string{
		"memory.max": "max",
		"cpu.max":    fmt.Sprintf("max %d", cpuPeriod),
		"cpu.weight": "100",
		"pids.max":   "max",
	}
	if l.MemoryMax > 0 {
		f["memory.max"] = strconv.FormatInt(l.MemoryMax, 10)
	}
	if l.CPUs > 0 {
		quota := max(int64(l.CPUs*cpuPeriod), 1000) // the kernel's minimum is 1ms
		f["cpu.max"] = fmt.Sprintf("%d %d", quota, cpuPeriod)
	}
	if l.CPUWeight > 0 {
		f["cpu.weight"] = strconv.FormatUint(l.CPUWeight, 10)
	}
	if l.PidsMax > 0 {
		f["pids.max"] = strconv.FormatInt(l.PidsMax, 10)
	}
	return f
}

// wanted reports whether the file carries a limit that was asked for.
func (l Limits) wanted(file string) bool {
	switch file {
	case "memory.max":
		return l.MemoryMax > 0
	case "cpu.max":
		return l.CPUs > 0
	case "cpu.weight":
		return l.CPUWeight > 0
	case "pids.max":
		return l.PidsMax > 0
	}
	return false
}

// apply writes the limits into the group at path. It returns the control
// files of requested limits that could not be written because their
// controller is not enabled there.
func (l Limits) apply(path string) (missing []string) {
	for file, value := range l.files() {
		err := writeFile(path, file, value)
		if err != nil && l.wanted(file) {
			if !errors.Is(err, os.ErrNotExist) {
				file = fmt.Sprintf("%s (%v)", file, err)
			}
			missing = append(missing, file)
		}
	}
	return missing
}

// FindCgroup2 returns the mount point of the first cgroup2 file system in a
// /proc/self/mountinfo listing.
func FindCgroup2(mountinfo io.Reader) (string, error) {
	sc := bufio.NewScanner(mountinfo)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, fstype := strings.Fields(pre), strings.Fields(post)
		if len(fields) >= 5 && len(fstype) > 0 && fstype[0] == "cgroup2" {
			return unescapeMount(fields[4]), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read mountinfo: %w", err)
	}
	return "", errors.New("no cgroup2 file system is mounted")
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return filepath.Clean(b.String())
}
