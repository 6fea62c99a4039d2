//go:build vm

package vm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/provision"
	provqemu "github.com/plinth-os/plinth/pkg/provision/qemu"
)

// clusterCreateTimeout bounds `cluster create` of two TCG VMs on a busy
// two-core host.
const clusterCreateTimeout = 10 * time.Minute

// TestClusterLauncherCommand checks the hidden launcher subcommand that
// QEMU clusters run (no VM needed).
func TestClusterLauncherCommand(t *testing.T) {
	c := newClusterCtl(t)
	if out := c.must(t, "cluster", "--help"); strings.Contains(out, "launcher") {
		t.Errorf("cluster --help shows the hidden launcher:\n%s", out)
	}
	out, err := c.run("cluster", "launcher")
	if err == nil || !strings.Contains(out, "--state-dir") {
		t.Errorf("launcher without --state-dir: %v\n%s", err, out)
	}
	out, err = c.run("cluster", "launcher", "--state-dir", t.TempDir())
	if err == nil || !strings.Contains(out, "launch.json") {
		t.Errorf("launcher of an empty directory: %v\n%s", err, out)
	}
}

// TestQemuCluster creates a cluster of one control plane and one worker
// (TCG, 1 vCPU and 1 GiB each) with the real plinthctl, drives it through
// the control plane's API over the cluster network, reboots the worker
// and destroys the cluster, checking that nothing is left on the host.
func TestQemuCluster(t *testing.T) {
	image := clusterPrereqs(t)
	c := newClusterCtl(t)
	name := fmt.Sprintf("vm-%d", os.Getpid()%100000)
	subnet := freeSubnet(t)
	stateDir := filepath.Join(c.clusters, name)

	args := []string{"cluster", "create", "--provisioner", "qemu", "--name", name,
		"--controlplanes", "1", "--workers", "1", "--cpus", "1", "--memory", "1024",
		"--image", image, "--subnet", subnet.String(), "--wait-timeout", "8m"}
	// This test is about the VMs, not Kubernetes (which a 1 GiB TCG node
	// runs only slowly): stop once the APIs answer, where create can.
	if help := c.must(t, "cluster", "create", "--help"); strings.Contains(help, "--skip-kubernetes") {
		args = append(args, "--skip-kubernetes")
	}
	created := time.Now()
	lines, err := c.runTimed(t, clusterCreateTimeout, args...)
	spec, specErr := provqemu.LoadSpec(stateDir)
	t.Cleanup(func() {
		if _, err := os.Stat(stateDir); err == nil {
			out, err := c.run("cluster", "destroy", "--name", name)
			t.Logf("cleanup: cluster destroy (err %v):\n%s", err, out)
		}
	})
	if err != nil {
		t.Fatalf("cluster create: %v", err)
	}
	if specErr != nil {
		t.Fatal(specErr)
	}
	cl, err := provision.LoadDir(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	cpNode, wNode := cl.Nodes[0], cl.Nodes[1]
	cp, worker := cpNode.IP.String(), wNode.IP.String()
	reportBoot(t, stateDir, cl, lines, created)

	t.Run("version over mTLS on each node", func(t *testing.T) {
		for _, n := range cl.Nodes {
			out := c.must(t, "-e", n.APIEndpoint, "-n", n.IP.String(), "version")
			if !strings.Contains(out, "Maintenance:  false") || !strings.Contains(out, "Mode:         metal") {
				t.Errorf("%s version:\n%s", n.Name, out)
			}
		}
	})

	t.Run("fan-out through the control plane", func(t *testing.T) {
		out := c.must(t, "-n", cp+","+worker, "version")
		for _, ip := range []string{cp, worker} {
			if !strings.Contains(out, "NODE:         "+ip) {
				t.Errorf("version -n %s,%s lacks %s:\n%s", cp, worker, ip, out)
			}
		}
		if n := strings.Count(out, "Maintenance:  false"); n != 2 {
			t.Errorf("%d configured nodes answered, want 2:\n%s", n, out)
		}
	})

	t.Run("hostname patch without reboot", func(t *testing.T) {
		out := c.must(t, "-n", cp, "patch", "machineconfig", "--mode", "no-reboot",
			"-p", `{"machine": {"network": {"hostname": "renamed-cp"}}}`)
		if !strings.Contains(out, "applied without a reboot") {
			t.Errorf("patch: %s", out)
		}
		c.eventually(t, "renamed-cp", "-n", cp, "get", "hostname")
	})

	t.Run("reboot --wait of the worker", func(t *testing.T) {
		start := time.Now()
		out := c.must(t, "-n", worker, "reboot", "--wait", "--timeout", "5m")
		back := time.Now()
		if !strings.Contains(out, "is back") {
			t.Errorf("reboot --wait: %s", out)
		}
		// STATE is a tmpfs until the disk install: the config comes back
		// because the node fetches it again from plinth.config=.
		c.eventually(t, "Maintenance:  false", "-n", worker, "version")
		c.eventually(t, wNode.Name, "-n", worker, "get", "hostname")
		st, err := provqemu.ReadStatus(stateDir)
		if err != nil {
			t.Fatal(err)
		}
		ns := st.Nodes[wNode.Name]
		if ns.Boots != 2 || ns.ConfigFetches != 2 || !ns.Running() {
			t.Errorf("worker after the reboot: %d boots, %d configs fetched, running %v", ns.Boots, ns.ConfigFetches, ns.Running())
		}
		t.Logf("BOOT FIGURES %s reboot: reboot --wait %.1fs; kernel start → API answering %.1fs (kernel → init %.1fs)",
			wNode.Name, back.Sub(start).Seconds(), back.Sub(ns.KernelStarted).Seconds(), ns.InitStarted.Sub(ns.KernelStarted).Seconds())
	})

	t.Run("dmesg", func(t *testing.T) {
		out := c.must(t, "-n", worker, "dmesg")
		if !strings.Contains(out, "Linux version") || !strings.Contains(out, "plinth.config=http://") {
			t.Errorf("dmesg lacks the kernel's lines:\n%.2000s", out)
		}
	})

	t.Run("show", func(t *testing.T) {
		out := c.must(t, "cluster", "show", "--name", name)
		if strings.Count(out, "running") < 5 || !strings.Contains(out, "launcher: pid") || !strings.Contains(out, spec.Net.Netns) {
			t.Errorf("cluster show:\n%s", out)
		}
	})

	out := c.must(t, "cluster", "destroy", "--name", name)
	if !strings.Contains(out, "destroyed cluster "+name) {
		t.Errorf("destroy: %s", out)
	}
	if left := leftovers(t, spec.Net, stateDir); len(left) > 0 {
		t.Errorf("left behind after destroy:\n%s", strings.Join(left, "\n"))
	}
}

// reportBoot logs each node's boot figures: QEMU start → kernel start →
// init → DHCP lease → config fetched → API answering over mutual TLS (the
// moment cluster create printed so).
func reportBoot(t *testing.T, stateDir string, cl *provision.Cluster, lines []timedLine, created time.Time) {
	t.Helper()
	st, err := provqemu.ReadStatus(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for _, n := range cl.Nodes {
		var answered time.Time
		for _, l := range lines {
			if strings.HasPrefix(l.text, n.Name+" ") && strings.Contains(l.text, "answers over mutual TLS") {
				answered = l.at
			}
		}
		ns := st.Nodes[n.Name]
		if answered.IsZero() || ns == nil {
			t.Errorf("%s: no answer line or status", n.Name)
			continue
		}
		last = answered
		t.Logf("BOOT FIGURES %s: kernel start → API answering %.1fs (QEMU → kernel %.1fs, kernel → init %.1fs, → lease %.1fs, → config %.1fs)",
			n.Name, answered.Sub(ns.KernelStarted).Seconds(), ns.KernelStarted.Sub(ns.Started).Seconds(),
			ns.InitStarted.Sub(ns.KernelStarted).Seconds(), ns.Leased.Sub(ns.KernelStarted).Seconds(),
			ns.ConfigFetched.Sub(ns.KernelStarted).Seconds())
	}
	t.Logf("BOOT FIGURES cluster create → both APIs answering %.1fs", last.Sub(created).Seconds())
}
