// Package e2e drives whole local clusters with the real plinthctl: a
// cluster of container-mode nodes in Docker is created, used through its
// published API, rebooted and destroyed. The tests skip, saying why, when
// no Docker daemon answers or the node image is missing and cannot be built
// (`make image-container` needs _out/rootfs.sqsh from `make image`).
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/provision/docker/engine"
)

// repoRoot is the module root, from this package's directory.
const repoRoot = "../.."

// commandTimeout bounds one plinthctl command (cluster create waits for
// Kubernetes to be healthy).
const commandTimeout = 6 * time.Minute

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "plinth-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// plinthctlBinary builds plinthctl once per test binary.
func plinthctlBinary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(binDir, "plinthctl")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/plinthctl")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build plinthctl: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return binPath
}

// dockerOrSkip returns a client of the Docker daemon, or skips the test
// when none answers.
func dockerOrSkip(tb testing.TB) *engine.Client {
	tb.Helper()
	c, err := engine.FromEnv()
	if err != nil {
		tb.Skipf("Docker cluster test: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		tb.Skipf("Docker cluster test skipped: %v (start one with hack/ensure-docker.sh)", err)
	}
	return c
}

// nodeImage returns the node image to test ($PLINTH_NODE_IMAGE, default
// plinth/node:latest), building it with `make image-container` when it is
// missing and the rootfs exists, else skipping.
func nodeImage(tb testing.TB, c *engine.Client) string {
	tb.Helper()
	ref := os.Getenv("PLINTH_NODE_IMAGE")
	if ref == "" {
		ref = "plinth/node:latest"
	}
	ctx := context.Background()
	img, err := c.ImageInspect(ctx, ref)
	if engine.IsNotFound(err) {
		if _, serr := os.Stat(filepath.Join(repoRoot, "_out", "rootfs.sqsh")); serr != nil {
			tb.Skipf("Docker cluster test skipped: node image %s is missing and _out/rootfs.sqsh too (run `make image-container`)", ref)
		}
		tb.Logf("node image %s is missing: running make image-container", ref)
		cmd := exec.Command("make", "image-container")
		cmd.Dir = repoRoot
		if out, merr := cmd.CombinedOutput(); merr != nil {
			tb.Fatalf("make image-container: %v\n%s", merr, out)
		}
		img, err = c.ImageInspect(ctx, ref)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("node image %s: version %s", ref, img.Config.Labels["org.opencontainers.image.version"])
	return ref
}

// freeSubnet picks a /24 in 10.214.0.0/16 that no Docker network uses.
func freeSubnet(tb testing.TB, c *engine.Client) netip.Prefix {
	tb.Helper()
	nets, err := c.NetworkList(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	used := map[netip.Prefix]bool{}
	for _, n := range nets {
		for _, cfg := range n.IPAM.Config {
			if p, err := netip.ParsePrefix(cfg.Subnet); err == nil {
				used[p.Masked()] = true
			}
		}
	}
	start := os.Getpid() % 250
	for i := range 250 {
		p := netip.MustParsePrefix(fmt.Sprintf("10.214.%d.0/24", (start+i)%250+1))
		if !used[p] {
			return p
		}
	}
	tb.Fatal("no free /24 in 10.214.0.0/16")
	return netip.Prefix{}
}

// ctl runs plinthctl with its own clusters directory, client config and
// kubeconfig.
type ctl struct {
	bin        string
	clusters   string
	config     string
	kubeconfig string
}

func newCtl(tb testing.TB) ctl {
	dir := tb.TempDir()
	return ctl{bin: plinthctlBinary(tb), clusters: filepath.Join(dir, "clusters"), config: filepath.Join(dir, "plinthconfig"),
		kubeconfig: filepath.Join(dir, "kubeconfig")}
}

// env is the environment of the commands: the ctl's own files.
func (c ctl) env() []string {
	return append(os.Environ(), "PLINTH_CLUSTERS="+c.clusters, "PLINTHCONFIG="+c.config, "KUBECONFIG="+c.kubeconfig)
}

func (c ctl) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (c ctl) must(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := c.run(args...)
	if err != nil {
		tb.Fatalf("plinthctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// eventually retries the command until its output contains want.
func (c ctl) eventually(tb testing.TB, want string, args ...string) string {
	tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var out string
	var err error
	for time.Now().Before(deadline) {
		if out, err = c.run(args...); err == nil && strings.Contains(out, want) {
			return out
		}
		time.Sleep(250 * time.Millisecond)
	}
	tb.Fatalf("plinthctl %s never printed %q; last output (err %v):\n%s", strings.Join(args, " "), want, err, out)
	return ""
}

// leftovers lists what Docker still has with the cluster's label.
func leftovers(tb testing.TB, c *engine.Client, name string) []string {
	tb.Helper()
	ctx := context.Background()
	label := "plinth.cluster=" + name
	var out []string
	cs, err := c.ContainerList(ctx, label)
	if err != nil {
		tb.Fatal(err)
	}
	for _, x := range cs {
		out = append(out, "container "+strings.Join(x.Names, ","))
	}
	vs, err := c.VolumeList(ctx, label)
	if err != nil {
		tb.Fatal(err)
	}
	for _, x := range vs {
		out = append(out, "volume "+x.Name)
	}
	ns, err := c.NetworkList(ctx, label)
	if err != nil {
		tb.Fatal(err)
	}
	for _, x := range ns {
		out = append(out, "network "+x.Name)
	}
	return out
}

// runMarked runs plinthctl and returns its output, and when the first
// line containing mark arrived (zero when none did).
func (c ctl) runMarked(mark string, args ...string) (string, time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.env()
	pr, pw, err := os.Pipe()
	if err != nil {
		return "", time.Time{}, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		return "", time.Time{}, err
	}
	pw.Close()
	var out strings.Builder
	var at time.Time
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if at.IsZero() && strings.Contains(sc.Text(), mark) {
			at = time.Now()
		}
		out.WriteString(sc.Text() + "\n")
	}
	pr.Close()
	return out.String(), at, cmd.Wait()
}
