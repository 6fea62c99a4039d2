// Package container_test drives a container-mode node end to end: `plinth
// machined` runs as PID 1 of a new mount, PID, network and UTS namespace
// sandbox, reached over a veth pair, and is managed only with `plinthctl`.
package container_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tools the sandbox needs on the host.
var tools = []string{"unshare", "nsenter", "ip"}

func skipUnlessCapable(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("container-mode sandbox test needs root (it creates namespaces and a veth pair)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("container-mode sandbox test needs %s (util-linux / iproute2): %v", tool, err)
		}
	}
}

// buildBinaries builds plinth and plinthctl into dir.
func buildBinaries(t *testing.T, dir string) (plinth, plinthctl string) {
	t.Helper()
	plinth, plinthctl = filepath.Join(dir, "plinth"), filepath.Join(dir, "plinthctl")
	for out, pkg := range map[string]string{plinth: "../../cmd/plinth", plinthctl: "../../cmd/plinthctl"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, b)
		}
	}
	return plinth, plinthctl
}

// sandbox is a machined running as PID 1 of its own namespaces.
type sandbox struct {
	cmd      *exec.Cmd
	log      string
	hostIf   string
	nodeIP   string
	hostIP   string
	netnsPID int
}

func startSandbox(t *testing.T, plinth, root, logFile string) *sandbox {
	t.Helper()
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cmd := exec.Command("unshare", "--mount", "--pid", "--uts", "--net", "--fork", "--mount-proc",
		plinth, "machined", "--root", root, "--mode", "container")
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &sandbox{cmd: cmd, log: logFile, netnsPID: cmd.Process.Pid}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	waitNewNetns(t, s.netnsPID)
	// A /30 per test run, derived from our PID so parallel runs differ.
	n := os.Getpid()%250 + 1
	s.hostIf = fmt.Sprintf("plt%d", os.Getpid()%100000)
	s.hostIP, s.nodeIP = fmt.Sprintf("10.213.%d.1", n), fmt.Sprintf("10.213.%d.2", n)
	pid := fmt.Sprint(s.netnsPID)
	_ = exec.Command("ip", "link", "del", s.hostIf).Run() // left by a killed earlier run with our PID
	run(t, "ip", "link", "add", s.hostIf, "type", "veth", "peer", "name", "eth0", "netns", pid)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", s.hostIf).Run() })
	run(t, "ip", "addr", "add", s.hostIP+"/30", "dev", s.hostIf)
	run(t, "ip", "link", "set", s.hostIf, "up")
	run(t, "nsenter", "-t", pid, "-n", "ip", "addr", "add", s.nodeIP+"/30", "dev", "eth0")
	run(t, "nsenter", "-t", pid, "-n", "ip", "link", "set", "eth0", "up")
	run(t, "nsenter", "-t", pid, "-n", "ip", "link", "set", "lo", "up")
	return s
}

// waitNewNetns waits until unshare(1), started as pid, has left our network
// namespace. Right after the fork it still shares ours, and a veth peer
// created "in its netns" then would land next to the host's own eth0.
func waitNewNetns(t *testing.T, pid int) {
	t.Helper()
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err == nil && ns != own {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("unshare (pid %d) never entered a new network namespace (last: %q, %v)", pid, ns, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ctl runs plinthctl and returns its combined output.
type ctl struct {
	bin, config string
	node        string
}

func (c ctl) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all := append([]string{"--plinthconfig", c.config, "-e", c.node, "-n", c.node}, args...)
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, c.bin, all...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (c ctl) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.run(args...)
	if err != nil {
		t.Fatalf("plinthctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// eventually retries the command until its output contains want.
func (c ctl) eventually(t *testing.T, want string, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var out string
	var err error
	for time.Now().Before(deadline) {
		out, err = c.run(args...)
		if err == nil && strings.Contains(out, want) {
			return out
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("plinthctl %s never printed %q; last output (err %v):\n%s", strings.Join(args, " "), want, err, out)
	return ""
}

func logCount(t *testing.T, file, substr string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), substr)
}

func TestContainerModeNode(t *testing.T) {
	skipUnlessCapable(t)
	dir := t.TempDir()
	plinth, plinthctl := buildBinaries(t, dir)
	root := filepath.Join(dir, "node")
	logFile := filepath.Join(dir, "machined.log")
	s := startSandbox(t, plinth, root, logFile)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			t.Logf("machined log:\n%s", b)
		}
	})

	gen := filepath.Join(dir, "gen")
	out, err := exec.Command(plinthctl, "gen", "config", "sandbox", "https://"+s.nodeIP+":6443",
		"--mode", "container", "--output-dir", gen,
		"--config-patch", `{"machine": {"network": {"hostname": "sandbox-1"}}}`).CombinedOutput()
	if err != nil {
		t.Fatalf("gen config: %v\n%s", err, out)
	}
	c := ctl{bin: plinthctl, config: filepath.Join(gen, "plinthconfig"), node: s.nodeIP}

	// Maintenance: the node takes a config over TLS without client certificates.
	c.eventually(t, "applied in maintenance mode", "apply-config", "--insecure", "-f", filepath.Join(gen, "controlplane.yaml"))

	// Services come up and apid answers over mutual TLS.
	c.eventually(t, "Maintenance:  false", "version")
	c.eventually(t, "apid", "services")
	c.eventually(t, "controlplane", "get", "machinetype")
	if out := c.eventually(t, "sandbox-1", "get", "hostname"); !strings.Contains(out, "Hostnames") {
		t.Errorf("get hostname: %s", out)
	}
	c.eventually(t, "serving", "logs", "apid")

	// A no-reboot change converges.
	c.must(t, "patch", "machineconfig", "--mode", "no-reboot", "--patch", `{"machine": {"network": {"hostname": "sandbox-2"}}}`)
	c.eventually(t, "sandbox-2", "get", "hostname")

	// Reboot keeps the config.
	if out := c.must(t, "reboot", "--wait"); !strings.Contains(out, "is back") {
		t.Errorf("reboot --wait: %s", out)
	}
	c.eventually(t, "sandbox-2", "get", "hostname")
	c.eventually(t, "controlplane", "get", "machinetype")

	// Reset returns to maintenance mode with an empty STATE.
	if out := c.must(t, "reset", "--reboot", "--wait"); !strings.Contains(out, "maintenance") {
		t.Errorf("reset --wait: %s", out)
	}
	if n := logCount(t, logFile, "maintenance mode: waiting for a machine config"); n < 2 {
		t.Errorf("node entered maintenance mode %d times, want 2 (boot, after reset)", n)
	}
	if _, err := os.Stat(filepath.Join(root, "system/state/config.yaml")); !os.IsNotExist(err) {
		t.Errorf("config.yaml survived reset: %v", err)
	}
}
