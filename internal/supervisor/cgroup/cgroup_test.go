package cgroup

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

func TestFindCgroup2(t *testing.T) {
	tests := []struct {
		name, mountinfo, want string
		wantErr               bool
	}{
		{
			name: "unified under v1 host",
			mountinfo: "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n" +
				"40 25 0:35 / /sys/fs/cgroup/unified rw,relatime shared:19 - cgroup2 cgroup2 rw\n",
			want: "/sys/fs/cgroup/unified",
		},
		{
			name:      "pure v2 with optional fields",
			mountinfo: "35 24 0:30 / /sys/fs/cgroup rw,nosuid shared:9 master:1 - cgroup2 cgroup2 rw,nsdelegate\n",
			want:      "/sys/fs/cgroup",
		},
		{
			name:      "escaped space",
			mountinfo: `35 24 0:30 / /mnt/my\040cgroup rw - cgroup2 none rw` + "\n",
			want:      "/mnt/my cgroup",
		},
		{
			name:      "none",
			mountinfo: "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n",
			wantErr:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindCgroup2(strings.NewReader(tt.mountinfo))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("FindCgroup2 = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestLimitsFiles(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		want   map[string]string
	}{
		{"none resets", Limits{}, map[string]string{
			"memory.max": "max", "cpu.max": "max 100000", "cpu.weight": "100", "pids.max": "max",
		}},
		{"all", Limits{MemoryMax: 256 << 20, CPUs: 1.5, CPUWeight: 50, PidsMax: 512}, map[string]string{
			"memory.max": "268435456", "cpu.max": "150000 100000", "cpu.weight": "50", "pids.max": "512",
		}},
		{"tiny cpu clamps to kernel minimum", Limits{CPUs: 0.001}, map[string]string{
			"memory.max": "max", "cpu.max": "1000 100000", "cpu.weight": "100", "pids.max": "max",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.limits.files(); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("files() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLimitsApplyReportsMissingControllers(t *testing.T) {
	dir := t.TempDir()
	// Only the memory controller is "enabled" in this fake group.
	if err := os.WriteFile(filepath.Join(dir, "memory.max"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := Limits{MemoryMax: 1 << 30, PidsMax: 10}.apply(dir)
	if fmt.Sprint(missing) != "[pids.max]" {
		t.Fatalf("missing = %v, want [pids.max]", missing)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "memory.max")); string(b) != "1073741824" {
		t.Fatalf("memory.max = %q", b)
	}
}

func TestUnavailableWhenMountMissing(t *testing.T) {
	m := NewManager(Options{Mount: filepath.Join(t.TempDir(), "absent"), Logger: quiet})
	if err := m.Available(); err == nil {
		t.Fatal("Available() = nil for a missing mount")
	}
	if _, err := m.Create("etcd", Limits{}); err == nil {
		t.Fatal("Create succeeded without a cgroup2 mount")
	}
}

// TestPlacement starts a process into a real group and checks the kernel
// reports it there. It needs root and a writable cgroup2 hierarchy.
func TestPlacement(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	root := fmt.Sprintf("plinth-test-%d", os.Getpid())
	m := NewManager(Options{Root: root, Logger: quiet})
	if err := m.Available(); err != nil {
		t.Skipf("cgroup v2 not writable here: %v", err)
	}
	t.Cleanup(func() { _ = os.Remove(m.Base()) })

	g, err := m.Create("sleeper", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: g.FD()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if want := "0::/" + root + "/sleeper"; !hasLine(string(b), want) {
		t.Fatalf("/proc/pid/cgroup = %q, want a line %q", b, want)
	}
	if populated, err := g.Populated(); err != nil || !populated {
		t.Fatalf("Populated = %v, %v; want true", populated, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := g.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-waited; err == nil {
		t.Fatal("sleep exited cleanly; Close should have killed it")
	}
	if _, err := os.Stat(g.Path()); !os.IsNotExist(err) {
		t.Fatalf("group %s not removed: %v", g.Path(), err)
	}
}

// TestCreateKillsStaleMembers recreates a group that an earlier run left
// populated, as after a supervisor crash.
func TestCreateKillsStaleMembers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	m := NewManager(Options{Root: fmt.Sprintf("plinth-stale-test-%d", os.Getpid()), Logger: quiet})
	if err := m.Available(); err != nil {
		t.Skipf("cgroup v2 not writable here: %v", err)
	}
	t.Cleanup(func() { _ = os.Remove(m.Base()) })
	stale, err := m.Create("kubelet", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: stale.FD()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	_ = stale.dir.Close() // the earlier run vanished without cleaning up

	g, err := m.Create("kubelet", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err == nil {
			t.Fatal("stale sleep exited cleanly; want it killed")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("stale member still running after Create")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := g.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
