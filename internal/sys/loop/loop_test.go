//go:build linux

package loop

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/plinth-os/plinth/internal/sys/mount"
	"golang.org/x/sys/unix"
)

// TestAttachAndMountSquashfs attaches a squashfs image read-only, mounts it
// in a private mount namespace and reads a file back.
func TestAttachAndMountSquashfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (loop devices, mounts)")
	}
	if _, err := exec.LookPath("mksquashfs"); err != nil {
		t.Skip("mksquashfs not installed (hack/ensure-deps.sh image)")
	}
	if _, err := os.Stat(ControlPath); err != nil {
		t.Skipf("no loop support: %v", err)
	}
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	_ = os.MkdirAll(src, 0o755)
	_ = os.WriteFile(filepath.Join(src, "hello"), []byte("from squashfs"), 0o644)
	img := filepath.Join(tmp, "img.sqsh")
	if out, err := exec.Command("mksquashfs", src, img, "-noappend", "-quiet", "-no-progress").CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v\n%s", err, out)
	}

	dev, err := Attach(img, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // the private namespace dies with this thread
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			t.Errorf("unshare: %v", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			t.Errorf("make / private: %v", err)
			return
		}
		target := filepath.Join(tmp, "mnt")
		if err := (mount.Point{Source: dev.Path, Target: target, FSType: "squashfs", Flags: unix.MS_RDONLY}).Mount(); err != nil {
			t.Error(err)
			return
		}
		if b, err := os.ReadFile(filepath.Join(target, "hello")); err != nil || string(b) != "from squashfs" {
			t.Errorf("read back %q, %v", b, err)
		}
		if err := os.WriteFile(filepath.Join(dev.Path), []byte("x"), 0); err == nil {
			t.Error("wrote to a read-only loop device")
		}
		_ = unix.Unmount(target, 0)
	}()
	<-done
	if err := dev.Close(); err != nil {
		t.Error(err)
	}
	// Autoclear detaches the device now that its mount is gone.
}
