//go:build linux

package cgroup2_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plinth-os/plinth/internal/sys/cgroup2"
)

func fakeRoot(t *testing.T, offered string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"cgroup.controllers": offered, "cgroup.subtree_control": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestEnable(t *testing.T) {
	dir := fakeRoot(t, "cpuset cpu io memory pids rdma misc\n")
	got, err := cgroup2.Enable(dir, cgroup2.Wanted)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cpu", "cpuset", "io", "memory", "pids"}; !slices.Equal(got, want) {
		t.Fatalf("enabled %v, want %v", got, want)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if string(b) != "+cpu +cpuset +io +memory +pids" {
		t.Fatalf("subtree_control %q", b)
	}
}

func TestEnableNothingOffered(t *testing.T) {
	dir := fakeRoot(t, "\n")
	if got, err := cgroup2.Enable(dir, cgroup2.Wanted); err != nil || got != nil {
		t.Fatalf("Enable = %v, %v", got, err)
	}
	if _, err := cgroup2.Enable(t.TempDir(), cgroup2.Wanted); err == nil {
		t.Fatal("Enable without cgroup.controllers succeeded")
	}
}

func TestMounted(t *testing.T) {
	if ok, err := cgroup2.Mounted(t.TempDir()); ok || err != nil {
		t.Fatalf("Mounted(temp dir) = %v, %v", ok, err)
	}
	if ok, err := cgroup2.Mounted(filepath.Join(t.TempDir(), "missing")); ok || err != nil {
		t.Fatalf("Mounted(missing) = %v, %v", ok, err)
	}
}

// TestEnsureMounts mounts cgroup2 on a temporary directory (it asks for no
// controllers, so the host's hierarchy is not changed), then finds it
// mounted the second time.
func TestEnsureMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount cgroup2")
	}
	dir := filepath.Join(t.TempDir(), "cgroup")
	mounted, _, err := cgroup2.Ensure(dir, nil)
	if err != nil {
		t.Skipf("cannot mount cgroup2 here: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	if !mounted {
		t.Fatal("Ensure did not mount")
	}
	if ok, err := cgroup2.Mounted(dir); !ok || err != nil {
		t.Fatalf("Mounted after Ensure = %v, %v", ok, err)
	}
	if again, _, err := cgroup2.Ensure(dir, nil); again || err != nil {
		t.Fatalf("second Ensure mounted again (%v) or failed: %v", again, err)
	}
}
