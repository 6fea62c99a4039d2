package initapp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/sys/kmod"
	"github.com/plinth-os/plinth/internal/sys/mount"
	"github.com/plinth-os/plinth/pkg/imager/layout"
	"golang.org/x/sys/unix"
)

// fake records every effect in order.
type fake struct {
	calls   []string
	clock   time.Duration
	loaded  map[string]bool
	failOn  string
	modList string
	panic   string
	cmdline string
}

func (f *fake) record(s string) error {
	f.calls = append(f.calls, s)
	f.clock += 5 * time.Millisecond
	if f.failOn != "" && strings.HasPrefix(s, f.failOn) {
		return errors.New("injected failure")
	}
	return nil
}

type closer struct{ f *fake }

func (c closer) Close() error { return c.f.record("close loop") }

func (f *fake) system() system {
	return system{
		uptime:   func() time.Duration { return 3*time.Second + f.clock },
		mount:    func(p mount.Point) error { return f.record(fmt.Sprintf("mount %s %s %s", p.FSType, p.Target, p.Data)) },
		unmount:  func(target string) error { return f.record("unmount " + target) },
		move:     func(src, dst string) error { return f.record("move " + src + " " + dst) },
		mkdirAll: func(p string) error { return f.record("mkdir " + p) },
		attachLoop: func(p string) (string, io.Closer, error) {
			return "/dev/loop0", closer{f}, f.record("attach " + p)
		},
		moduleLoaded: func(name string) bool { return f.loaded[name] },
		loadModule: func(p string) (kmod.Result, error) {
			if err := f.record("load " + kmod.Name(p)); err != nil {
				return 0, fmt.Errorf("load module %s: %w", kmod.Name(p), err)
			}
			if strings.Contains(p, "virtio_ring") {
				return kmod.AlreadyLoaded, nil
			}
			if strings.Contains(p, "efivarfs") {
				return 0, fmt.Errorf("load module efivarfs: %w", unix.ENODEV)
			}
			return kmod.Loaded, nil
		},
		readFile: func(p string) ([]byte, error) {
			switch p {
			case layout.LoadList:
				return []byte(f.modList), nil
			case panicSysctl:
				return []byte(f.panic + "\n"), nil
			case "/proc/cmdline":
				return []byte(f.cmdline + "\n"), nil
			}
			return nil, os.ErrNotExist
		},
		writeFile: func(p string, data []byte) error {
			return f.record("write " + p + " " + strings.TrimSpace(string(data)))
		},
		cleanInitramfs: func(keep string) (int, error) { return 3, f.record("clean except " + keep) },
		switchRoot:     func(p string) error { return f.record("switch " + p) },
		exec: func(p string, argv, env []string) error {
			return f.record("exec " + strings.Join(argv, " ") + " env " + strings.Join(env, " "))
		},
	}
}

const modList = `# order
/lib/modules/6.1/kernel/drivers/virtio/virtio_ring.ko
/lib/modules/6.1/kernel/drivers/virtio/virtio.ko
/lib/modules/6.1/kernel/drivers/block/loop.ko
/lib/modules/6.1/kernel/fs/squashfs/squashfs.ko
/lib/modules/6.1/kernel/fs/efivarfs/efivarfs.ko
`

func TestRunSequence(t *testing.T) {
	f := &fake{loaded: map[string]bool{"loop": true}, modList: modList, panic: "0"}
	var out []string
	err := run(f.system(), func(s string) { out = append(out, s) })
	if err == nil || !strings.Contains(err.Error(), "returned") {
		t.Fatalf("run: %v (a fake exec returns, so run must report it)", err)
	}
	want := []string{
		"mount proc /proc ", "mount sysfs /sys ", "mount devtmpfs /dev mode=0755",
		"mount devpts /dev/pts gid=5,mode=0620,ptmxmode=0666", "mount tmpfs /dev/shm mode=1777",
		"mount tmpfs /run mode=0755", "mount tmpfs /tmp mode=1777", "mount cgroup2 /sys/fs/cgroup nsdelegate",
		"write /proc/sys/kernel/panic 10",
		"write /sys/kernel/mm/transparent_hugepage/enabled madvise",
		"mount debugfs /sys/kernel/debug ", "write /sys/kernel/debug/fault_around_bytes 4096", "unmount /sys/kernel/debug",
		"load virtio_ring", "load virtio", "load squashfs", "load efivarfs",
		"attach /rootfs.sqsh", "mount squashfs /newroot ", "close loop",
		"mount tmpfs /newroot/system mode=0755", "mount tmpfs /newroot/var mode=0755",
		"mkdir /newroot/system/overlay/etc/upper", "mkdir /newroot/system/overlay/etc/work",
		"mount overlay /newroot/etc lowerdir=/newroot/etc,upperdir=/newroot/system/overlay/etc/upper,workdir=/newroot/system/overlay/etc/work",
		"move /dev /newroot/dev", "move /proc /newroot/proc", "move /sys /newroot/sys", "move /run /newroot/run", "move /tmp /newroot/tmp",
		"clean except /newroot", "switch /newroot",
		"exec /usr/bin/machined --mode metal --root / env PATH=/usr/bin HOME=/",
	}
	if got := strings.Join(f.calls, "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s\n\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	console := strings.Join(out, "\n")
	for _, w := range []string{
		"plinth-init: started at uptime 3.000s",
		"8 file systems; kernel.panic=10",
		"plinth-init: modules         20ms  2 loaded, 2 already present, without their device: efivarfs",
		"plinth-init: rootfs          15ms  /rootfs.sqsh on /newroot via /dev/loop0 (read-only)",
		"plinth-init: exec /usr/bin/machined at uptime 3.",
	} {
		if !strings.Contains(console, w) {
			t.Errorf("console lacks %q:\n%s", w, console)
		}
	}
}

func TestRunStopsAtFailure(t *testing.T) {
	f := &fake{modList: modList, failOn: "mount squashfs", panic: "-1"}
	err := run(f.system(), func(string) {})
	if err == nil || !strings.Contains(err.Error(), "rootfs: injected failure") {
		t.Fatalf("got %v", err)
	}
	for _, c := range f.calls {
		if strings.HasPrefix(c, "switch") || strings.HasPrefix(c, "exec") {
			t.Fatalf("went on after the failure: %q", f.calls)
		}
		if strings.HasPrefix(c, "write "+panicSysctl) {
			t.Errorf("changed kernel.panic the command line set (panic=-1): %s", c)
		}
	}
}

func TestModuleFailureIsAWarning(t *testing.T) {
	f := &fake{modList: modList, failOn: "load virtio", panic: "0"}
	var out []string
	_ = run(f.system(), func(s string) { out = append(out, s) })
	console := strings.Join(out, "\n")
	if !strings.Contains(console, "warning: load module virtio") || !strings.Contains(console, "failed: virtio_ring virtio") {
		t.Fatalf("console:\n%s", console)
	}
}

// TestMainRefusesWithoutPID1 runs Main in a child process (never PID 1).
func TestMainRefusesWithoutPID1(t *testing.T) {
	if os.Getenv("PLINTH_INIT_TEST_MAIN") == "1" {
		os.Exit(Main(nil))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainRefusesWithoutPID1$")
	cmd.Env = append(os.Environ(), "PLINTH_INIT_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "refusing to run as process") {
		t.Fatalf("output: %s", out)
	}
}

func TestTimeline(t *testing.T) {
	clock := 1500 * time.Millisecond
	var lines []string
	tl := NewTimeline(func() time.Duration { return clock }, func(s string) { lines = append(lines, s) }, "v1")
	clock += 42 * time.Millisecond
	tl.Step("early", "8 file systems")
	clock += 8 * time.Millisecond
	tl.Exec("/usr/bin/machined")
	want := []string{
		"plinth-init: started at uptime 1.500s (plinth v1)",
		"plinth-init: early           42ms  8 file systems",
		"plinth-init: exec /usr/bin/machined at uptime 1.550s after 50ms in init",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestMemoryTuning(t *testing.T) {
	steps := func(f *fake) ([]string, string) {
		var out []string
		_ = run(f.system(), func(s string) { out = append(out, s) })
		var mem []string
		for _, c := range f.calls {
			if strings.Contains(c, "/sys/kernel/") && !strings.Contains(c, panicSysctl) {
				mem = append(mem, c)
			}
		}
		return mem, strings.Join(out, "\n")
	}
	t.Run("opt-out", func(t *testing.T) {
		mem, console := steps(&fake{modList: modList, panic: "0", cmdline: "console=ttyS0 plinth.memtune=0"})
		if len(mem) != 0 {
			t.Fatalf("plinth.memtune=0 still changed: %q", mem)
		}
		if !strings.Contains(console, "kernel defaults (plinth.memtune=0)") {
			t.Fatalf("console:\n%s", console)
		}
	})
	t.Run("no debugfs", func(t *testing.T) {
		mem, console := steps(&fake{modList: modList, panic: "0", failOn: "mount debugfs"})
		want := []string{"write /sys/kernel/mm/transparent_hugepage/enabled madvise", "mount debugfs /sys/kernel/debug "}
		if strings.Join(mem, "\n") != strings.Join(want, "\n") {
			t.Fatalf("calls %q, want %q (no write, no unmount of what was not mounted)", mem, want)
		}
		for _, w := range []string{"warning: mount debugfs for fault_around_bytes: injected failure", "memory", "transparent huge pages on madvise"} {
			if !strings.Contains(console, w) {
				t.Errorf("console lacks %q:\n%s", w, console)
			}
		}
		if !strings.Contains(console, "exec /usr/bin/machined") {
			t.Errorf("a memory setting stopped the boot:\n%s", console)
		}
	})
	t.Run("write refused", func(t *testing.T) {
		mem, console := steps(&fake{modList: modList, panic: "0", failOn: "write /sys/kernel/debug"})
		if mem[len(mem)-1] != "unmount /sys/kernel/debug" {
			t.Fatalf("debugfs left mounted after a failed write: %q", mem)
		}
		if !strings.Contains(console, "warning: write /sys/kernel/debug/fault_around_bytes: injected failure") {
			t.Fatalf("console:\n%s", console)
		}
	})
}
