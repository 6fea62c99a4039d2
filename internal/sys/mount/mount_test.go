//go:build linux

package mount

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOverlayData(t *testing.T) {
	p, err := Overlay("/newroot/etc", "/system/overlay/etc/upper", "/system/overlay/etc/work", "/newroot/etc")
	if err != nil {
		t.Fatal(err)
	}
	want := "lowerdir=/newroot/etc,upperdir=/system/overlay/etc/upper,workdir=/system/overlay/etc/work"
	if p.Data != want || p.FSType != "overlay" {
		t.Fatalf("got %+v", p)
	}
	for _, bad := range []string{"", "/a,b", "/a:b"} {
		if _, err := Overlay(bad, "/u", "/w", "/t"); err == nil {
			t.Errorf("lower %q accepted", bad)
		}
	}
}

// inMountNamespace runs f on a thread with its own private mount
// namespace, which dies with the goroutine, so no mount reaches the host.
func inMountNamespace(t *testing.T, f func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (mounts)")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			t.Errorf("unshare: %v", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			t.Errorf("make / private: %v", err)
			return
		}
		f()
	}()
	<-done
}

func TestMountMoveOverlay(t *testing.T) {
	dir := t.TempDir()
	inMountNamespace(t, func() {
		a := filepath.Join(dir, "a", "b") // created by Mount
		if err := (Point{Source: "tmpfs", Target: a, FSType: "tmpfs", Data: "mode=0755"}).Mount(); err != nil {
			t.Error(err)
			return
		}
		if ok, err := IsMountPoint(a); !ok || err != nil {
			t.Errorf("IsMountPoint(%s) = %v, %v", a, ok, err)
		}
		if err := os.MkdirAll(filepath.Join(a, "lower"), 0o755); err != nil {
			t.Error(err)
			return
		}
		_ = os.WriteFile(filepath.Join(a, "lower", "hosts"), []byte("lower"), 0o644)
		for _, d := range []string{"upper", "work", "merged"} {
			_ = os.Mkdir(filepath.Join(a, d), 0o755)
		}
		ov, err := Overlay(filepath.Join(a, "lower"), filepath.Join(a, "upper"), filepath.Join(a, "work"), filepath.Join(a, "merged"))
		if err != nil {
			t.Error(err)
			return
		}
		if err := ov.Mount(); err != nil {
			t.Error(err)
			return
		}
		if err := os.WriteFile(filepath.Join(a, "merged", "hosts"), []byte("upper"), 0o644); err != nil {
			t.Error(err)
		}
		if b, _ := os.ReadFile(filepath.Join(a, "lower", "hosts")); string(b) != "lower" {
			t.Errorf("lower changed: %q", b)
		}
		moved := filepath.Join(dir, "moved")
		if err := Move(a, moved); err != nil {
			t.Error(err)
			return
		}
		if b, _ := os.ReadFile(filepath.Join(moved, "upper", "hosts")); string(b) != "upper" {
			t.Errorf("after move, upper/hosts = %q", b)
		}
		mounts, _ := os.ReadFile("/proc/thread-self/mountinfo")
		if !strings.Contains(string(mounts), moved+"/merged") {
			t.Errorf("the overlay did not move with its parent:\n%s", mounts)
		}
	})
}

func TestMountErrorsNameTheMount(t *testing.T) {
	err := (Point{Source: "none", Target: filepath.Join(t.TempDir(), "x"), FSType: "no-such-fs"}).Mount()
	if err == nil || !strings.Contains(err.Error(), "type no-such-fs") {
		t.Fatalf("got %v", err)
	}
}
