package procfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/plinth-os/plinth/api/machine"
)

// MemInfo reads <procRoot>/meminfo; every value is returned in bytes.
func MemInfo(procRoot string) (*machine.MemInfo, error) {
	path := filepath.Join(procRoot, "meminfo")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("meminfo: %w", err)
	}
	defer f.Close() //nolint:errcheck // read-only
	info, err := parseMemInfo(f)
	if err != nil {
		return nil, fmt.Errorf("meminfo: parse %s: %w", path, err)
	}
	return info, nil
}

// parseMemInfo parses lines such as "MemTotal:   16318136 kB". Unknown keys
// are ignored; MemTotal must be present.
func parseMemInfo(r io.Reader) (*machine.MemInfo, error) {
	info := &machine.MemInfo{}
	fields := map[string]*uint64{
		"MemTotal":     &info.MemTotal,
		"MemFree":      &info.MemFree,
		"MemAvailable": &info.MemAvailable,
		"Buffers":      &info.Buffers,
		"Cached":       &info.Cached,
		"SwapTotal":    &info.SwapTotal,
		"SwapFree":     &info.SwapFree,
		"Shmem":        &info.Shmem,
	}
	seenTotal := false
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		dst, known := fields[key]
		if !ok || !known {
			continue
		}
		v, err := parseMemValue(rest)
		if err != nil {
			return nil, fmt.Errorf("line %d (%s): %w", line, key, err)
		}
		*dst = v
		seenTotal = seenTotal || key == "MemTotal"
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !seenTotal {
		return nil, fmt.Errorf("no MemTotal line")
	}
	return info, nil
}

// parseMemValue parses " 16318136 kB" (or a bare number) into bytes.
func parseMemValue(s string) (uint64, error) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 {
		return 0, fmt.Errorf("want \"<number> [kB]\", got %q", strings.TrimSpace(s))
	}
	v, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return 0, err
	}
	if len(f) == 1 {
		return v, nil
	}
	if f[1] != "kB" {
		return 0, fmt.Errorf("unknown unit %q", f[1])
	}
	if v > ^uint64(0)/1024 {
		return 0, fmt.Errorf("%d kB overflows", v)
	}
	return v * 1024, nil
}
