//go:build vm

package vm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
// (TCG, 1 vCPU and 1 GiB each) with the real plinthctl — installed to
// their disks and booted from them when the image has a boot bundle and
// OVMF is there, as cluster create does by default —, drives it through
// the control plane's API over the cluster network, reboots the worker,
// cuts its power (SIGKILL of its QEMU) and destroys the cluster, checking
// that nothing is left on the host.
func TestQemuCluster(t *testing.T) {
	image := clusterPrereqs(t)
	c := newClusterCtl(t)
	name := fmt.Sprintf("vm-%d", os.Getpid()%100000)
	subnet := freeSubnet(t)
	stateDir := filepath.Join(c.clusters, name)

	args := []string{"cluster", "create", "--provisioner", "qemu", "--name", name,
		"--controlplanes", "1", "--workers", "1", "--cpus", "1", "--memory", "1024",
		"--image", image, "--subnet", subnet.String(), "--wait-timeout", "8m"}
	installed := installable(image)
	if !installed {
		t.Logf("nodes boot live: %s", installNote(image))
		args = append(args, "--install=false")
	}
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

	t.Run("disks and boot mode", func(t *testing.T) {
		st, err := provqemu.ReadStatus(stateDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range spec.Nodes {
			if fi, err := os.Stat(n.Disk); err != nil || fi.Size() != int64(provqemu.DefaultDiskMiB)<<20 {
				t.Errorf("%s: disk %s: %v", n.Name, n.Disk, err)
			}
			ns := st.Nodes[n.Name]
			want := provqemu.BootLive
			if installed {
				// Installed from the bundle at the live boot, then rebooted
				// into the disk: one QEMU restart.
				want = provqemu.BootDisk
				if ns.BundleFetches < 1 || ns.Restarts != 1 || !strings.Contains(ns.LastExitReason, "rebooted") || ns.Boots != 2 {
					t.Errorf("%s: %d bundle downloads, %d restarts (last: %s), %d boots; want an install and a reboot",
						n.Name, ns.BundleFetches, ns.Restarts, ns.LastExitReason, ns.Boots)
				}
			}
			if ns.BootMode != want {
				t.Errorf("%s boots %s (%s), want %s", n.Name, ns.BootMode, ns.BootModeReason, want)
			}
		}
	})

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
		before := nodeStatus(t, stateDir, wNode.Name)
		start := time.Now()
		out := c.must(t, "-n", worker, "reboot", "--wait", "--timeout", "5m")
		back := time.Now()
		if !strings.Contains(out, "is back") {
			t.Errorf("reboot --wait: %s", out)
		}
		// An installed node keeps its config in STATE on its disk; a live
		// one fetches it again from plinth.config=.
		c.eventually(t, "Maintenance:  false", "-n", worker, "version")
		c.eventually(t, wNode.Name, "-n", worker, "get", "hostname")
		ns := nodeStatus(t, stateDir, wNode.Name)
		fetches := before.ConfigFetches
		if !installed {
			fetches++
		}
		if ns.Boots != before.Boots+1 || ns.ConfigFetches != fetches || ns.Restarts != before.Restarts+1 ||
			!strings.Contains(ns.LastExitReason, "rebooted") || ns.BootMode != before.BootMode || !ns.Running() {
			t.Errorf("worker after the reboot: %+v (before: %+v)", ns, before)
		}
		t.Logf("BOOT FIGURES %s reboot: reboot --wait %.1fs; kernel start → API answering %.1fs (kernel → init %.1fs)",
			wNode.Name, back.Sub(start).Seconds(), back.Sub(ns.KernelStarted).Seconds(), ns.InitStarted.Sub(ns.KernelStarted).Seconds())
	})

	t.Run("power cut of the worker", func(t *testing.T) {
		before := nodeStatus(t, stateDir, wNode.Name)
		start := time.Now()
		if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
			t.Fatalf("kill the worker's QEMU %d: %v", before.PID, err)
		}
		// The launcher starts it again, as a machine whose power came back.
		c.eventually(t, "Maintenance:  false", "-n", worker, "version")
		c.eventually(t, wNode.Name, "-n", worker, "get", "hostname")
		back := time.Now()
		ns := nodeStatus(t, stateDir, wNode.Name)
		if ns.PID == before.PID || ns.Restarts != before.Restarts+1 || !strings.Contains(ns.LastExitReason, "power cut") || ns.BootMode != before.BootMode {
			t.Errorf("worker after the power cut: %+v (before: %+v)", ns, before)
		}
		t.Logf("BOOT FIGURES %s power cut: back answering %.1fs after SIGKILL", wNode.Name, back.Sub(start).Seconds())
	})

	t.Run("dmesg", func(t *testing.T) {
		out := c.must(t, "-n", worker, "dmesg")
		if !strings.Contains(out, "Linux version") || (!installed && !strings.Contains(out, "plinth.config=http://")) {
			t.Errorf("dmesg lacks the kernel's lines:\n%.2000s", out)
		}
	})

	t.Run("show", func(t *testing.T) {
		out := c.must(t, "cluster", "show", "--name", name)
		mode := " live "
		if installed {
			mode = " disk "
		}
		if strings.Count(out, "running") < 5 || !strings.Contains(out, "launcher: pid") || !strings.Contains(out, spec.Net.Netns) ||
			strings.Count(out, mode) < 2 || !strings.Contains(out, spec.Nodes[1].Disk) || !strings.Contains(out, "power cut") {
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
		if ns.BootMode == provqemu.BootDisk {
			// The live boot fetched the config and installed; the QEMU
			// that boots the disk started when that one ended.
			t.Logf("BOOT FIGURES %s install: live boot (QEMU start) → config fetched %.1fs → rebooted %.1fs; disk boot: QEMU → kernel %.1fs (OVMF, systemd-boot), kernel → init %.1fs, QEMU → API answering %.1fs",
				n.Name, ns.ConfigFetched.Sub(st.Started).Seconds(), ns.LastExit.Sub(st.Started).Seconds(),
				ns.KernelStarted.Sub(ns.Started).Seconds(), ns.InitStarted.Sub(ns.KernelStarted).Seconds(), answered.Sub(ns.Started).Seconds())
			continue
		}
		t.Logf("BOOT FIGURES %s: kernel start → API answering %.1fs (QEMU → kernel %.1fs, kernel → init %.1fs, → lease %.1fs, → config %.1fs)",
			n.Name, answered.Sub(ns.KernelStarted).Seconds(), ns.KernelStarted.Sub(ns.Started).Seconds(),
			ns.InitStarted.Sub(ns.KernelStarted).Seconds(), ns.Leased.Sub(ns.KernelStarted).Seconds(),
			ns.ConfigFetched.Sub(ns.KernelStarted).Seconds())
	}
	t.Logf("BOOT FIGURES cluster create → both APIs answering %.1fs", last.Sub(created).Seconds())
}
