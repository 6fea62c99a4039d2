package procfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/plinth-os/plinth/api/machine"
)

// Mounts lists the mounts of <procRoot>/self/mountinfo in file order. Sizes
// come from statfs (normally Statfs), called with each mount point; a mount whose statfs fails
// (or every mount, when statfs is nil) gets zero sizes.
func Mounts(procRoot string, statfs func(path string) (size, avail uint64, err error)) ([]*machine.MountStat, error) {
	path := filepath.Join(procRoot, "self", "mountinfo")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mounts: %w", err)
	}
	defer f.Close() //nolint:errcheck // read-only

	var out []*machine.MountStat
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		m, err := parseMountinfoLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("mounts: %s line %d: %w", path, line, err)
		}
		stat := &machine.MountStat{Filesystem: m.source, MountedOn: m.mountPoint, Type: m.fsType}
		if statfs != nil {
			if size, avail, err := statfs(m.mountPoint); err == nil {
				stat.Size, stat.Available = size, avail
			}
		}
		out = append(out, stat)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mounts: read %s: %w", path, err)
	}
	return out, nil
}

// mountinfo is one parsed line of /proc/<pid>/mountinfo (see proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//	id pa dev  root  point options   optional - type source super-options
type mountinfo struct {
	root       string
	mountPoint string
	fsType     string
	source     string
}

// parseMountinfoLine parses one mountinfo line, decoding the octal escapes
// (\040 for a space, ...) the kernel writes in paths and sources.
func parseMountinfoLine(line string) (mountinfo, error) {
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 {
		return mountinfo{}, fmt.Errorf("no \" - \" separator after the 6 leading fields in %q", truncate(line))
	}
	if len(f) < sep+3 {
		return mountinfo{}, fmt.Errorf("want type and source after \" - \" in %q", truncate(line))
	}
	return mountinfo{
		root:       unescapeOctal(f[3]),
		mountPoint: unescapeOctal(f[4]),
		fsType:     unescapeOctal(f[sep+1]),
		source:     unescapeOctal(f[sep+2]),
	}, nil
}

// unescapeOctal decodes the kernel's \ooo escapes; anything that is not a
// backslash followed by three octal digits is kept as it is.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			v := (int(s[i+1]-'0') << 6) | (int(s[i+2]-'0') << 3) | int(s[i+3]-'0')
			if v <= 0xff {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// MountPointsUnder lists the mount points strictly below dir in
// procRoot/self/mountinfo, deepest first (the order to unmount them in).
func MountPointsUnder(procRoot, dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(procRoot, "self", "mountinfo"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return mountPointsUnder(f, dir)
}

func mountPointsUnder(r io.Reader, dir string) ([]string, error) {
	prefix := strings.TrimSuffix(filepath.Clean(dir), "/") + "/"
	var out []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		mi, err := parseMountinfoLine(sc.Text())
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(mi.mountPoint, prefix) && !seen[mi.mountPoint] {
			seen[mi.mountPoint] = true
			out = append(out, mi.mountPoint)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	// Deepest first: a longer path below the same parent is never its
	// ancestor, so reverse lexical order puts children before parents.
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out, nil
}
