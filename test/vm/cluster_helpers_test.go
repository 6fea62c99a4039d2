//go:build vm

package vm

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	provqemu "github.com/plinth-os/plinth/pkg/provision/qemu"
)

// ctlTimeout bounds one plinthctl command other than cluster create.
const ctlTimeout = 5 * time.Minute

// repoRoot is the module root.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// plinthctlBinary builds plinthctl into the test's temporary directory
// (the build cache makes it quick after the first). A running launcher
// keeps its program even when the directory goes.
func plinthctlBinary(t *testing.T) string {
	t.Helper()
	return plinthctlBinaryIn(t, t.TempDir())
}

// plinthctlBinaryIn builds plinthctl into dir.
func plinthctlBinaryIn(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "plinthctl")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/plinthctl")
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build plinthctl: %v\n%s", err, out)
	}
	return bin
}

// clusterPrereqs skips the test, saying what is missing, unless QEMU, root
// and the image are all there; it returns the image directory.
func clusterPrereqs(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath(provqemu.DefaultBinary); err != nil {
		t.Skipf("%s is not installed (apt-get install qemu-system-x86, or hack/ensure-deps.sh vm)", provqemu.DefaultBinary)
	}
	if os.Geteuid() != 0 {
		t.Skip("QEMU clusters need root (network namespace, links, taps)")
	}
	dir := imageDir()
	for _, f := range []string{"vmlinuz", "initramfs"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Skipf("no image (run make image): %v", err)
		}
	}
	return dir
}

// clusterCtl runs plinthctl with its own clusters directory and client
// config.
type clusterCtl struct {
	bin, clusters, config string
}

func newClusterCtl(t *testing.T) clusterCtl {
	dir := t.TempDir()
	return clusterCtl{bin: plinthctlBinary(t), clusters: filepath.Join(dir, "clusters"), config: filepath.Join(dir, "plinthconfig")}
}

func (c clusterCtl) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(os.Environ(), "PLINTH_CLUSTERS="+c.clusters, "PLINTHCONFIG="+c.config,
		"KUBECONFIG="+filepath.Join(filepath.Dir(c.config), "kubeconfig"))
	return cmd
}

func (c clusterCtl) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	cmd := c.command(ctx, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (c clusterCtl) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.run(args...)
	if err != nil {
		t.Fatalf("plinthctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// eventually retries the command until its output contains want.
func (c clusterCtl) eventually(t *testing.T, want string, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var out string
	var err error
	for time.Now().Before(deadline) {
		if out, err = c.run(args...); err == nil && strings.Contains(out, want) {
			return out
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("plinthctl %s never printed %q; last output (err %v):\n%s", strings.Join(args, " "), want, err, out)
	return ""
}

// timedLine is a line of output and when it arrived.
type timedLine struct {
	text string
	at   time.Time
}

// runTimed runs plinthctl, logging and timestamping each output line.
func (c clusterCtl) runTimed(t *testing.T, timeout time.Duration, args ...string) ([]timedLine, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := c.command(ctx, args...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var lines []timedLine
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		lines = append(lines, timedLine{sc.Text(), time.Now()})
		t.Logf("| %s", sc.Text())
	}
	pr.Close()
	return lines, cmd.Wait()
}

// freeSubnet picks a /24 in 10.216.0.0/16 that no host address is in.
func freeSubnet(t testing.TB) netip.Prefix {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	start := os.Getpid() % 250
	for i := range 250 {
		p := netip.MustParsePrefix(fmt.Sprintf("10.216.%d.0/24", (start+i)%250+1))
		used := false
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP.To4()); ok && p.Contains(ip) {
					used = true
				}
			}
		}
		if !used {
			return p
		}
	}
	t.Fatal("no free /24 in 10.216.0.0/16")
	return netip.Prefix{}
}

// leftovers lists what of a destroyed cluster is still on the host: its
// host link, its network namespace, processes naming its state directory,
// the state directory.
func leftovers(t *testing.T, names provqemu.Network, stateDir string) []string {
	t.Helper()
	var out []string
	if _, err := net.InterfaceByName(names.HostLink); err == nil {
		out = append(out, "link "+names.HostLink)
	}
	if _, err := os.Stat(filepath.Join("/run/netns", names.Netns)); err == nil {
		out = append(out, "network namespace "+names.Netns)
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(raw, []byte(stateDir)) {
			out = append(out, "process "+e.Name()+": "+strings.ReplaceAll(string(raw), "\x00", " "))
		}
	}
	if _, err := os.Stat(stateDir); err == nil {
		out = append(out, "state directory "+stateDir)
	}
	return out
}

// installable reports whether cluster create installs nodes from image by
// default: the image has a boot bundle and OVMF is installed.
func installable(image string) bool { return installNote(image) == "" }

// installNote says why nodes of image cannot be installed, or "".
func installNote(image string) string {
	if !provqemu.HasBundle(image) {
		return "no " + provqemu.BundleFile + " in " + image + " (make image)"
	}
	for _, f := range []string{provqemu.OVMFCode, provqemu.OVMFVars} {
		if _, err := os.Stat(f); err != nil {
			return "no OVMF (apt-get install ovmf, or hack/ensure-deps.sh vm): " + err.Error()
		}
	}
	return ""
}

// nodeStatus reads one node's status from the launcher's status file.
func nodeStatus(t *testing.T, stateDir, node string) provqemu.NodeStatus {
	t.Helper()
	st, err := provqemu.ReadStatus(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	ns := st.Nodes[node]
	if ns == nil {
		t.Fatalf("no status of %s", node)
	}
	return *ns
}
