package power

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const mountinfo = `22 1 0:20 / / ro,relatime - squashfs /dev/loop0 ro
23 22 0:5 / /dev rw,nosuid - devtmpfs devtmpfs rw
24 23 0:21 / /dev/pts rw - devpts devpts rw
25 22 0:22 / /proc rw - proc proc rw
26 22 0:23 / /sys rw - sysfs sysfs rw
27 26 0:24 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
28 22 0:25 / /system rw - tmpfs tmpfs rw
29 22 0:26 / /var rw - tmpfs tmpfs rw
30 22 0:27 / /etc rw - overlay overlay rw
31 29 0:28 / /var/lib/with\040space rw - tmpfs tmpfs rw
32 22 0:29 / /run rw - tmpfs tmpfs rw
`

func TestUnmountable(t *testing.T) {
	got, err := Unmountable(strings.NewReader(mountinfo))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/run", "/var/lib/with space", "/etc", "/var", "/system"}
	if !slices.Equal(got, want) {
		t.Fatalf("Unmountable = %q, want %q", got, want)
	}
}

func fakeMetal(t *testing.T, rebootErr error) (*Metal, *[]string) {
	t.Helper()
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "self", "mountinfo"), []byte(mountinfo), 0o644); err != nil {
		t.Fatal(err)
	}
	var calls []string
	m := &Metal{
		ProcRoot: proc,
		sync:     func() { calls = append(calls, "sync") },
		unmount: func(target string) error {
			calls = append(calls, "umount "+target)
			if target == "/var" {
				return unix.EBUSY
			}
			return nil
		},
		reboot: func(cmd int) error {
			calls = append(calls, map[int]string{unix.LINUX_REBOOT_CMD_RESTART: "restart", unix.LINUX_REBOOT_CMD_POWER_OFF: "power-off"}[cmd])
			return rebootErr
		},
	}
	return m, &calls
}

func TestMetalReboot(t *testing.T) {
	m, calls := fakeMetal(t, nil)
	if err := m.Reboot(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"sync", "umount /run", "umount /var/lib/with space", "umount /etc", "umount /var", "umount /system", "sync", "restart"}
	if !slices.Equal(*calls, want) {
		t.Fatalf("calls %q, want %q", *calls, want)
	}
}

func TestMetalShutdownFails(t *testing.T) {
	m, calls := fakeMetal(t, unix.EPERM)
	err := m.Shutdown(context.Background())
	if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "shutdown") {
		t.Fatalf("Shutdown = %v", err)
	}
	if last := (*calls)[len(*calls)-1]; last != "power-off" {
		t.Fatalf("last call %q", last)
	}
}

func TestMetalWithoutMountTable(t *testing.T) {
	m, calls := fakeMetal(t, nil)
	m.ProcRoot = filepath.Join(t.TempDir(), "missing")
	if err := m.Reboot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(*calls, []string{"sync", "sync", "restart"}) {
		t.Fatalf("calls %q", *calls)
	}
}
