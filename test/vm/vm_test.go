//go:build vm

// Package vm boots the Plinth image of `make image` in QEMU and checks the
// boot path: kernel, init, squashfs root, machined. Run with `make
// test-vm` (or go test -tags vm ./test/vm/...). PLINTH_IMAGE_DIR points
// at another image directory than _out; PLINTH_VM_ACCEL forces tcg or kvm;
// PLINTH_VM_KERNEL=vmlinuz boots the bzImage instead of qboot + vmlinux.
package vm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/plinth-os/plinth/test/vm/qemu"
)

// bootTimeout bounds one boot to the maintenance banner under TCG.
const bootTimeout = 3 * time.Minute

// imageDir is where the image is: PLINTH_IMAGE_DIR (relative to the
// repository root) or the repository's _out.
func imageDir() string {
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	d := os.Getenv("PLINTH_IMAGE_DIR")
	if d == "" {
		d = "_out"
	}
	if filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(repo, d)
}

// vmConfig returns the image's VM config, skipping the test (or benchmark)
// when QEMU or the image is missing.
func vmConfig(tb testing.TB) qemu.Config {
	tb.Helper()
	if _, err := exec.LookPath(qemu.Binary); err != nil {
		tb.Skipf("%s is not installed (hack/ensure-deps.sh vm)", qemu.Binary)
	}
	dir := imageDir()
	cfg := qemu.Config{
		Vmlinux: filepath.Join(dir, "vmlinux"),
		Vmlinuz: filepath.Join(dir, "vmlinuz"),
		Initrd:  filepath.Join(dir, "initramfs"),
		Quiet:   true,
	}
	if os.Getenv("PLINTH_VM_KERNEL") == "vmlinuz" {
		cfg.Vmlinux = ""
	}
	for _, p := range []string{cfg.Vmlinuz, cfg.Initrd} {
		if _, err := os.Stat(p); err != nil {
			tb.Skipf("no image (run make image): %v", err)
		}
	}
	accel, why := qemu.DetectAccel(context.Background(), cfg)
	tb.Logf("accelerator %s (%s)", accel, why)
	cfg.Accel = accel
	return cfg
}

// boot starts a VM that is stopped when the test ends; on failure the
// console is logged.
func boot(tb testing.TB, cfg qemu.Config) *qemu.Machine {
	tb.Helper()
	m, err := qemu.Start(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		m.Stop()
		if tb.Failed() {
			tb.Logf("console:\n%s", m.Console)
			if s := m.Stderr(); s != "" {
				tb.Logf("qemu stderr:\n%s", s)
			}
		}
	})
	return m
}
