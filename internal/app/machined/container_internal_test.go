package machined

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// fakeMounter records mounts; bind mounts copy the source over the target.
type fakeMounter struct {
	calls []string
	fail  bool
}

func (f *fakeMounter) Mount(source, target, _ string, flags uintptr, _ string) error {
	f.calls = append(f.calls, target)
	if f.fail && flags&unix.MS_BIND != 0 && flags&unix.MS_REMOUNT != 0 {
		return unix.EINVAL
	}
	if flags == unix.MS_BIND {
		b, err := os.ReadFile(source)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	}
	return nil
}

func TestRemountTargets(t *testing.T) {
	infos := []*mountinfo.Info{
		{Mountpoint: "/sys/fs/cgroup/memory", Options: "ro,nosuid"},
		{Mountpoint: "/sys", Options: "ro,nosuid,nodev,noexec"},
		{Mountpoint: "/sys/fs/cgroup", Options: "rw"},
		{Mountpoint: "/proc", Options: "ro"},
		{Mountpoint: "/sys/kernel/debug", Options: "ro"},
	}
	var got []string
	for _, in := range remountTargets(infos) {
		got = append(got, in.Mountpoint)
	}
	if strings.Join(got, " ") != "/sys /sys/fs/cgroup/memory" {
		t.Fatalf("targets %v", got)
	}
	f := &fakeMounter{fail: true}
	if err := remountWritable(f, "/sys", "ro,nosuid"); err != nil || len(f.calls) != 2 {
		t.Fatalf("fallback remount: %v, %v", err, f.calls)
	}
}

func TestShadowSysctls(t *testing.T) {
	root, proc := t.TempDir(), t.TempDir()
	for k := range kubeletSysctls {
		p := filepath.Join(proc, "sys", k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		host := "0\n"
		if k == "kernel/keys/root_maxkeys" {
			host = "1000000\n" // already right: left alone
		}
		if err := os.WriteFile(p, []byte(host), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := &fakeMounter{}
	if err := shadowSysctls(f, root, proc); err != nil {
		t.Fatal(err)
	}
	// vm/panic_on_oom (0) and root_maxkeys already hold their values.
	if len(f.calls) != len(kubeletSysctls)-2 {
		t.Fatalf("mounts %v", f.calls)
	}
	for k, want := range kubeletSysctls {
		got, _ := os.ReadFile(filepath.Join(proc, "sys", k))
		if strings.TrimSpace(string(got)) != want {
			t.Errorf("%s = %q, want %s", k, got, want)
		}
	}
	f.calls = nil
	if err := shadowSysctls(f, root, proc); err != nil || len(f.calls) != 0 {
		t.Fatalf("second run mounted again: %v, %v", err, f.calls)
	}
}
