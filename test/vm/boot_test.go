//go:build vm

package vm

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/imager/cpio"
	"github.com/plinth-os/plinth/test/vm/qemu"
)

// TestBootToMaintenance boots the image: the kernel runs init, init mounts
// the squashfs root and executes machined, and machined, without a config,
// prints its maintenance banner with the certificate fingerprint.
func TestBootToMaintenance(t *testing.T) {
	cfg := vmConfig(t)
	m := boot(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()

	if _, err := m.Console.WaitFor(ctx, qemu.InitStarted); err != nil {
		t.Fatalf("init did not start: %v", err)
	}
	exec, err := m.Console.WaitFor(ctx, qemu.InitExec)
	if err != nil {
		t.Fatalf("init did not reach the exec of machined: %v", err)
	}
	if got := qemu.InitExec.FindStringSubmatch(exec.Text)[1]; got != "/usr/bin/machined" {
		t.Errorf("init executed %s, want /usr/bin/machined", got)
	}
	for _, l := range m.Console.Lines() {
		if strings.Contains(l.Text, "plinth-init: warning") || strings.Contains(l.Text, "failed:") {
			t.Errorf("init warned: %s", l.Text)
		}
	}
	banner, err := m.Console.WaitFor(ctx, qemu.Maintenance)
	if err != nil {
		t.Fatalf("machined did not print its maintenance banner: %v", err)
	}
	fp := qemu.Maintenance.FindStringSubmatch(banner.Text)[2]
	if len(fp) != 32*3-1 {
		t.Errorf("fingerprint %q is not a colon-separated SHA-256", fp)
	}
	times, err := qemu.ParseBoot(m.Started, m.Console.Lines())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("qboot %v, kernel→init %v, init→exec %v, exec→maintenance %v, qemu→maintenance %v (host port %d → guest :%d)",
		m.Qboot, times.KernelToInit, times.InitToExec, times.ExecToMaintenance.Round(time.Millisecond),
		times.QemuToMaintenance.Round(time.Millisecond), m.HostPort, qemu.GuestAPIPort)
}

// TestInitFailureReboots breaks the root file system: init must print the
// error and reboot (QEMU runs with -no-reboot, so it exits) instead of
// hanging or panicking the kernel.
func TestInitFailureReboots(t *testing.T) {
	cfg := vmConfig(t)
	// The kernel unpacks concatenated archives in order, so an appended
	// archive replaces /rootfs.sqsh with a file that is no squashfs.
	broken := filepath.Join(t.TempDir(), "initramfs")
	if err := appendBrokenRootfs(cfg.Initrd, broken); err != nil {
		t.Fatal(err)
	}
	cfg.Initrd = broken
	m := boot(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	line, err := m.Console.WaitFor(ctx, qemu.InitFatal)
	if err != nil {
		t.Fatalf("no FATAL line: %v", err)
	}
	if !strings.Contains(line.Text, "rootfs") {
		t.Errorf("FATAL line does not name the rootfs step: %s", line.Text)
	}
	select {
	case <-m.Done():
		if after := time.Since(line.At); after < 0 {
			t.Errorf("exited before the FATAL line")
		}
	case <-time.After(45 * time.Second):
		t.Fatal("the VM did not reboot within 45s of the FATAL line")
	}
	for _, l := range m.Console.Lines() {
		if qemu.KernelPanic.MatchString(l.Text) {
			t.Errorf("kernel panicked: %s", l.Text)
		}
	}
}

func appendBrokenRootfs(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	var extra bytes.Buffer
	w := cpio.NewWriter(&extra)
	junk := bytes.Repeat([]byte("not a squashfs "), 1000)
	if err := w.File("rootfs.sqsh", 0o444, int64(len(junk)), bytes.NewReader(junk)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	_, err = out.Write(extra.Bytes())
	return err
}

// TestBootVmlinuzFallback boots the bzImage with QEMU's default firmware,
// the path taken when qboot is not installed.
func TestBootVmlinuzFallback(t *testing.T) {
	cfg := vmConfig(t)
	cfg.Vmlinux = ""
	m := boot(t, cfg)
	if m.Qboot {
		t.Fatal("booted through qboot without a vmlinux")
	}
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	if _, err := m.Console.WaitFor(ctx, qemu.InitExec); err != nil {
		t.Fatalf("init did not reach the exec of machined: %v", err)
	}
	started, _ := m.Console.WaitFor(ctx, qemu.InitStarted)
	t.Logf("vmlinuz: init started %v after QEMU (%s)", started.At.Sub(m.Started).Round(time.Millisecond), started.Text)
}
