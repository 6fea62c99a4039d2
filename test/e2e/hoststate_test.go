package e2e

import (
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// sysctlTrees are read recursively; sysctlDirs only at their top level.
var (
	sysctlTrees = []string{"/proc/sys/kernel", "/proc/sys/vm", "/proc/sys/fs"}
	sysctlDirs  = []string{"/proc/sys/net/core", "/proc/sys/net/ipv4"}
)

// volatileSysctls change by themselves (counters, random values): they
// are not compared.
var volatileSysctls = map[string]bool{
	"/proc/sys/kernel/ns_last_pid":          true,
	"/proc/sys/kernel/random/uuid":          true,
	"/proc/sys/kernel/random/entropy_avail": true,
	"/proc/sys/kernel/pty/nr":               true,
	"/proc/sys/fs/dentry-state":             true,
	"/proc/sys/fs/dentry-negative":          true,
	"/proc/sys/fs/file-nr":                  true,
	"/proc/sys/fs/inode-nr":                 true,
	"/proc/sys/fs/inode-state":              true,
	"/proc/sys/fs/aio-nr":                   true,
}

// kubeletSysctls are the host settings kubelet rewrote from a privileged
// container (ENVIRONMENT.md): the test insists on comparing them.
var kubeletSysctls = []string{
	"/proc/sys/vm/overcommit_memory", "/proc/sys/kernel/panic", "/proc/sys/kernel/panic_on_oops",
}

// mustWatch fails the test when one of paths is not in the snapshot (so
// that it could not be compared).
func (s hostState) mustWatch(tb testing.TB, paths ...string) {
	tb.Helper()
	for _, p := range paths {
		if _, ok := s.sysctls[p]; !ok {
			tb.Fatalf("host state: %s is not read, so a change of it would go unnoticed", p)
		}
	}
}

// hostState is what a local cluster must leave as it found it: kernel
// settings and firewall rules of the host.
type hostState struct {
	sysctls  map[string]string
	firewall map[string][]string // tool -> normalized rules
}

// snapshotHost reads every readable sysctl of sysctlTrees and sysctlDirs
// and the firewall rules (iptables-save, ip6tables-save, nft list ruleset:
// those installed), without counters, comments and Docker's own chains.
func snapshotHost(tb testing.TB) hostState {
	tb.Helper()
	s := hostState{sysctls: map[string]string{}, firewall: map[string][]string{}}
	read := func(p string) {
		if volatileSysctls[p] || strings.HasPrefix(p, "/proc/sys/fs/quota/") {
			return
		}
		if b, err := os.ReadFile(p); err == nil {
			s.sysctls[p] = string(b)
		}
	}
	for _, root := range sysctlTrees {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				read(p)
			}
			return nil
		})
	}
	for _, dir := range sysctlDirs {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Type().IsRegular() {
				read(filepath.Join(dir, e.Name()))
			}
		}
	}
	for tool, args := range map[string][]string{
		"iptables-save": nil, "ip6tables-save": nil, "nft": {"list", "ruleset"},
	} {
		if _, err := exec.LookPath(tool); err != nil {
			continue
		}
		out, err := exec.Command(tool, args...).Output()
		if err != nil {
			continue // e.g. no permission: nothing to compare
		}
		s.firewall[tool] = normalizeRules(string(out))
	}
	return s
}

var (
	// dockerHairpin matches the masquerade rule Docker adds for a port a
	// container publishes (iptables and nft forms); the address is
	// captured.
	dockerHairpin = regexp.MustCompile(`^(?:-A POSTROUTING -s (\S+)/32 -d (\S+)/32 -p tcp -m tcp --dport \d+ -j MASQUERADE|ip saddr (\S+) ip daddr (\S+) tcp dport \d+\s+masquerade)$`)
	ruleCounters  = regexp.MustCompile(`\[\d+:\d+\]|counter packets \d+ bytes \d+`)
	// dockerRule matches rules and chains Docker manages for its networks.
	dockerRule = regexp.MustCompile(`DOCKER|docker0|br-[0-9a-f]{12}`)
)

// normalizeRules drops comments, counters and Docker's own rules and
// sorts the lines, so two dumps of the same rules compare equal.
func normalizeRules(dump string) []string {
	var lines []string
	for _, l := range strings.Split(dump, "\n") {
		l = strings.TrimSpace(ruleCounters.ReplaceAllString(l, ""))
		if l == "" || strings.HasPrefix(l, "#") || dockerRule.MatchString(l) {
			continue
		}
		lines = append(lines, l)
	}
	sort.Strings(lines)
	return lines
}

// calibrate drops from s the sysctls that changed between two snapshots
// taken a moment apart: counters the static list does not know.
func (s hostState) calibrate(tb testing.TB) hostState {
	tb.Helper()
	time.Sleep(200 * time.Millisecond)
	again := snapshotHost(tb)
	for k, v := range s.sysctls {
		if again.sysctls[k] != v {
			tb.Logf("host state: %s changes by itself; not compared", k)
			delete(s.sysctls, k)
		}
	}
	return s
}

// othersDockerRule reports whether rule is Docker's masquerade rule of a
// port published by a container outside mine (another cluster on a shared
// host, created or removed meanwhile).
func othersDockerRule(rule string, mine netip.Prefix) bool {
	m := dockerHairpin.FindStringSubmatch(rule)
	if m == nil {
		return false
	}
	for _, s := range m[1:] {
		if a, err := netip.ParseAddr(s); err == nil {
			return !mine.IsValid() || !mine.Contains(a)
		}
	}
	return false
}

// diff lists the differences of other from s. Firewall rules that name an
// address of own (the cluster's subnet: Docker's rules for its published
// ports) are not compared; pass the zero prefix to compare every rule.
// Docker's rules for ports other containers publish, outside mine (the
// cluster's subnet, also while own is zero), are never compared.
func (s hostState) diff(other hostState, own, mine netip.Prefix) []string {
	var out []string
	for k, v := range s.sysctls {
		if w, ok := other.sysctls[k]; ok && w != v {
			out = append(out, k+": "+strings.TrimSpace(v)+" -> "+strings.TrimSpace(w))
		}
	}
	for tool, rules := range s.firewall {
		w, ok := other.firewall[tool]
		if !ok {
			continue
		}
		ignore := func(l string) bool { return namesAddressIn(l, own) || othersDockerRule(l, mine) }
		if changes := lineChanges(rules, w, ignore); len(changes) > 0 {
			out = append(out, tool+" rules differ:\n"+strings.Join(changes, "\n"))
		}
	}
	sort.Strings(out)
	return out
}

var ipv4RE = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)

// namesAddressIn reports whether a rule names an address of p.
func namesAddressIn(rule string, p netip.Prefix) bool {
	if !p.IsValid() {
		return false
	}
	for _, s := range ipv4RE.FindAllString(rule, -1) {
		if a, err := netip.ParseAddr(s); err == nil && p.Contains(a) {
			return true
		}
	}
	return false
}

// lineChanges lists lines only in a ("- ") or only in b ("+ "), except
// those ignore matches.
func lineChanges(a, b []string, ignore func(string) bool) []string {
	set := func(lines []string) map[string]bool {
		m := map[string]bool{}
		for _, l := range lines {
			if !ignore(l) {
				m[l] = true
			}
		}
		return m
	}
	ma, mb := set(a), set(b)
	var out []string
	for l := range ma {
		if !mb[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range mb {
		if !ma[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return out
}

func TestNormalizeRules(t *testing.T) {
	in := `# Generated by iptables-save v1.8.9 on Fri Nov 27 23:00:00 2026
*filter
:INPUT ACCEPT [12:3456]
:DOCKER - [0:0]
-A FORWARD -o br-0123456789ab -j DOCKER
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
table ip filter {
	chain INPUT {
		tcp dport 22 counter packets 3 bytes 180 accept
	}
}`
	want := []string{
		"*filter", ":INPUT ACCEPT", "-A INPUT -p tcp --dport 22 -j ACCEPT", "COMMIT",
		"chain INPUT {", "table ip filter {", "tcp dport 22  accept", "}", "}",
	}
	sort.Strings(want)
	if got := normalizeRules(in); !slices.Equal(got, want) {
		t.Errorf("normalizeRules:\n%q\nwant:\n%q", got, want)
	}
}

func TestHostStateDiff(t *testing.T) {
	a := hostState{
		sysctls:  map[string]string{"/proc/sys/vm/overcommit_memory": "0\n", "/proc/sys/kernel/panic": "1\n"},
		firewall: map[string][]string{"iptables-save": {"-A INPUT -j ACCEPT"}},
	}
	b := hostState{
		sysctls: map[string]string{"/proc/sys/vm/overcommit_memory": "1\n", "/proc/sys/kernel/panic": "1\n"},
		firewall: map[string][]string{"iptables-save": {
			"-A INPUT -j ACCEPT", "-A POSTROUTING -s 10.214.1.2/32 -d 10.214.1.2/32 -p tcp -m tcp --dport 50000 -j MASQUERADE",
		}},
	}
	mine := netip.MustParsePrefix("10.214.1.0/24")
	want := []string{"/proc/sys/vm/overcommit_memory: 0 -> 1"}
	if got := a.diff(b, mine, mine); !slices.Equal(got, want) {
		t.Errorf("diff ignoring the cluster's rules = %q, want %q", got, want)
	}
	if got := a.diff(b, netip.Prefix{}, mine); len(got) != 2 || !strings.Contains(got[1], "+ -A POSTROUTING") {
		t.Errorf("diff of every rule = %q", got)
	}
	// Another cluster's published ports come and go: not this test's.
	b.firewall["nft"] = []string{"ip saddr 10.77.0.2 ip daddr 10.77.0.2 tcp dport 6443  masquerade"}
	a.firewall["nft"] = nil
	if got := a.diff(b, netip.Prefix{}, mine); len(got) != 2 {
		t.Errorf("diff with another cluster's rules = %q", got)
	}
}
