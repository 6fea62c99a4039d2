//go:build vm && slow

package vm

import (
	"bytes"
	"context"
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

// TestInstallUpgradeRollback installs a QEMU node to its disk, then
// drives it with plinthctl alone: reboot keeps the config, upgrade to an
// image with another version, rollback, an image whose init fails (the
// node comes back on the old slot by itself), a power cut while the new
// slot is written (the old slot boots, state intact) and reset (back to
// maintenance mode with an empty STATE). make test-slow runs it.
func TestInstallUpgradeRollback(t *testing.T) {
	image := clusterPrereqs(t)
	current := filepath.Join(image, "boot-bundle.tar")
	if _, err := os.Stat(current); err != nil {
		t.Skipf("no boot bundle (run make image): %v", err)
	}
	for _, f := range []string{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_CODE.fd"} {
		if _, err := os.Stat(f); err == nil {
			goto haveOVMF
		}
	}
	t.Skip("OVMF is not installed (apt-get install ovmf, or hack/ensure-deps.sh vm)")
haveOVMF:
	variant := variantBundle(t, image)
	broken := brokenBundle(t, image)
	curMan := manifestOf(t, current)

	c := newClusterCtl(t)
	name := fmt.Sprintf("up-%d", os.Getpid()%100000)
	stateDir := filepath.Join(c.clusters, name)
	args := []string{"cluster", "create", "--provisioner", "qemu", "--name", name,
		"--controlplanes", "1", "--workers", "0", "--cpus", "1", "--memory", "1024",
		"--image", image, "--subnet", freeSubnet(t).String(), "--wait-timeout", "15m", "--skip-kubernetes"}
	if _, err := c.runTimed(t, 20*time.Minute, args...); err != nil {
		t.Fatalf("cluster create: %v", err)
	}
	t.Cleanup(func() {
		out, err := c.run("cluster", "destroy", "--name", name)
		t.Logf("cleanup: cluster destroy (err %v):\n%s", err, out)
	})
	cl, err := provision.LoadDir(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	node := cl.Nodes[0]
	n := node.IP.String()
	ctl := func(args ...string) string { return c.must(t, append([]string{"-n", n}, args...)...) }
	boot := func() bootStatusView { return readBootStatus(t, c, n) }

	t.Run("installed and booted from the disk", func(t *testing.T) {
		b := waitBoot(t, c, n, func(b bootStatusView) bool { return b.Installed && b.BootedSlot == "A" }, 10*time.Minute)
		if b.DefaultSlot != "A" || b.Slots[0].Version != curMan.Version {
			t.Fatalf("boot status after install: %+v", b)
		}
	})

	t.Run("config survives a reboot", func(t *testing.T) {
		ctl("reboot", "--wait", "--timeout", "10m")
		c.eventually(t, "Maintenance:  false", "-n", n, "version")
		c.eventually(t, node.Name, "-n", n, "get", "hostname")
		if b := boot(); !b.Installed || b.BootedSlot != "A" {
			t.Fatalf("after reboot: %+v", b)
		}
	})

	t.Run("upgrade to another version", func(t *testing.T) {
		start := time.Now()
		out := ctl("upgrade", "--image", variant, "--timeout", "15m")
		t.Logf("upgrade:\n%s", out)
		if !strings.Contains(out, "upgrade committed") {
			t.Fatalf("upgrade did not commit:\n%s", out)
		}
		c.eventually(t, variantVersion, "-n", n, "version")
		b := boot()
		if b.BootedSlot != "B" || b.DefaultSlot != "B" || b.LastUpgrade == nil || b.LastUpgrade.Result != "committed" {
			t.Fatalf("after upgrade: %+v", b)
		}
		t.Logf("UPGRADE FIGURES request → committed on the new version: %.1fs", time.Since(start).Seconds())
	})

	t.Run("rollback", func(t *testing.T) {
		ctl("rollback", "--wait", "--timeout", "10m")
		c.eventually(t, curMan.Version, "-n", n, "version")
		if b := boot(); b.BootedSlot != "A" || b.DefaultSlot != "A" {
			t.Fatalf("after rollback: %+v", b)
		}
	})

	t.Run("an image whose init fails comes back on the old slot", func(t *testing.T) {
		out, err := c.run("-n", n, "upgrade", "--image", broken, "--timeout", "15m")
		t.Logf("upgrade to the broken image (err %v):\n%s", err, out)
		if err == nil {
			t.Fatal("upgrade to a broken image reported success")
		}
		b := waitBoot(t, c, n, func(b bootStatusView) bool { return b.TrialSlot == "" && b.LastUpgrade != nil }, 10*time.Minute)
		if b.BootedSlot != "A" || b.LastUpgrade.Result != "rolled-back" || !strings.Contains(b.LastUpgrade.Reason, "did not reach machined") {
			t.Fatalf("after the broken upgrade: %+v %+v", b, b.LastUpgrade)
		}
		c.eventually(t, curMan.Version, "-n", n, "version")
	})

	t.Run("power cut while the new slot is written", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		mark := consoleMark(stateDir, node.Name)
		cmd := c.command(ctx, "-n", n, "upgrade", "--image", variant, "--wait=false")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The node logs "upgrade: writing boot slot" before it streams the
		// bundle; cut the power a moment after.
		waitConsole(t, stateDir, node.Name, mark, "writing boot slot", 5*time.Minute)
		time.Sleep(2 * time.Second)
		st, err := provqemu.ReadStatus(stateDir)
		if err != nil {
			t.Fatal(err)
		}
		pid := st.Nodes[node.Name].PID
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill qemu %d: %v", pid, err)
		}
		// The client's stream to the dead VM gets no answer: end it.
		stop := time.AfterFunc(30*time.Second, cancel)
		_ = cmd.Wait()
		stop.Stop()
		t.Logf("upgrade cut by the power loss:\n%s", out.String())
		b := waitBoot(t, c, n, func(b bootStatusView) bool { return b.Installed }, 10*time.Minute)
		if b.BootedSlot != "A" || b.Slots[1].Complete {
			t.Fatalf("after the power cut: %+v", b)
		}
		c.eventually(t, curMan.Version, "-n", n, "version")
		c.eventually(t, node.Name, "-n", n, "get", "hostname")
	})

	t.Run("reset returns to maintenance with an empty STATE", func(t *testing.T) {
		mark := consoleMark(stateDir, node.Name)
		out, err := c.run("-n", n, "reset", "--reboot", "--graceful=false", "--wait", "--timeout", "10m")
		t.Logf("reset (err %v):\n%s", err, out)
		if err != nil || !strings.Contains(out, "back in maintenance mode") {
			t.Fatalf("reset did not end in maintenance mode")
		}
		waitConsole(t, stateDir, node.Name, mark, "partition wiped", time.Minute)
		waitConsole(t, stateDir, node.Name, mark, "maintenance mode: waiting for a machine config", time.Minute)
	})
}
