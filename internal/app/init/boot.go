package initapp

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/plinth-os/plinth/internal/sys/kmod"
	"github.com/plinth-os/plinth/internal/sys/mount"
	"github.com/plinth-os/plinth/pkg/imager/layout"
	"golang.org/x/sys/unix"
)

// step is one named part of the boot; run returns a detail for the console.
type step struct {
	name string
	run  func() (string, error)
}

// steps is the sequence init runs, in order. Each step prints its duration.
//
//	early ─▶ memory ─▶ modules ─▶ rootfs ─▶ writable ─▶ move ─▶ cleanup ─▶ switch-root ─▶ exec machined
func (b *boot) steps() []step {
	return []step{
		{"early", b.earlyMounts},
		{"memory", b.tuneMemory},
		{"modules", b.loadModules},
		{"rootfs", b.mountRootfs},
		{"writable", b.writable},
		{"move", b.moveMounts},
		{"cleanup", b.cleanup},
		{"switch-root", b.switchRoot},
	}
}

// boot is one run of the sequence.
type boot struct {
	sys  system
	warn func(string)
}

// machinedArgv is how init starts machined after switching root.
var machinedArgv = []string{layout.Machined, "--mode", "metal", "--root", "/"}

// machinedEnv is machined's environment.
var machinedEnv = []string{"PATH=/usr/bin", "HOME=/"}

// moved are the mounts that follow into the new root.
var moved = []string{"/dev", "/proc", "/sys", "/run", "/tmp"}

func (b *boot) earlyMounts() (string, error) {
	const nosuid, nodev, noexec = unix.MS_NOSUID, unix.MS_NODEV, unix.MS_NOEXEC
	points := []mount.Point{
		{Source: "proc", Target: "/proc", FSType: "proc", Flags: nosuid | nodev | noexec},
		{Source: "sysfs", Target: "/sys", FSType: "sysfs", Flags: nosuid | nodev | noexec},
		{Source: "devtmpfs", Target: "/dev", FSType: "devtmpfs", Flags: nosuid, Data: "mode=0755"},
		{Source: "devpts", Target: "/dev/pts", FSType: "devpts", Flags: nosuid | noexec, Data: "gid=5,mode=0620,ptmxmode=0666"},
		{Source: "tmpfs", Target: "/dev/shm", FSType: "tmpfs", Flags: nosuid | nodev, Data: "mode=1777"},
		{Source: "tmpfs", Target: "/run", FSType: "tmpfs", Flags: nosuid | nodev, Data: "mode=0755"},
		{Source: "tmpfs", Target: "/tmp", FSType: "tmpfs", Flags: nosuid | nodev, Data: "mode=1777"},
		{Source: "cgroup2", Target: "/sys/fs/cgroup", FSType: "cgroup2", Flags: nosuid | nodev | noexec, Data: "nsdelegate"},
	}
	for _, p := range points {
		if err := b.sys.mount(p); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%d file systems; %s", len(points), b.rebootOnPanic()), nil
}

// panicSysctl is the kernel's reboot delay after a panic (0: hang).
const panicSysctl = "/proc/sys/kernel/panic"

// rebootOnPanic makes the kernel reboot 10 s after a panic unless the
// command line chose (panic=N): if machined, PID 1 after init, ever dies,
// the node reboots instead of hanging.
func (b *boot) rebootOnPanic() string {
	cur, err := b.sys.readFile(panicSysctl)
	if err != nil {
		b.warn(fmt.Sprintf("read %s: %v", panicSysctl, err))
		return "kernel.panic unknown"
	}
	if v := strings.TrimSpace(string(cur)); v != "0" {
		return "kernel.panic=" + v
	}
	if err := b.sys.writeFile(panicSysctl, []byte("10\n")); err != nil {
		b.warn(fmt.Sprintf("write %s: %v", panicSysctl, err))
		return "kernel.panic=0"
	}
	return "kernel.panic=10"
}

func (b *boot) loadModules() (string, error) {
	data, err := b.sys.readFile(layout.LoadList)
	if err != nil {
		return "", fmt.Errorf("modules: %w", err)
	}
	paths, err := layout.ParseLoadList(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("modules: %w", err)
	}
	var loaded, present int
	var failed, absent []string
	for _, p := range paths {
		name := kmod.Name(p)
		if b.sys.moduleLoaded(name) {
			present++
			continue
		}
		res, err := b.sys.loadModule(p)
		switch {
		case errors.Is(err, unix.ENODEV):
			// The module is for what this machine lacks (efivarfs on a
			// BIOS boot): nothing to warn about.
			absent = append(absent, name)
		case err != nil:
			// Keep going: a driver for absent hardware must not stop the
			// boot; a missing squashfs or loop fails the next step anyway.
			b.warn(err.Error())
			failed = append(failed, name)
		case res == kmod.AlreadyLoaded:
			present++
		default:
			loaded++
		}
	}
	detail := fmt.Sprintf("%d loaded, %d already present", loaded, present)
	if len(absent) > 0 {
		detail += ", without their device: " + strings.Join(absent, " ")
	}
	if len(failed) > 0 {
		detail += ", failed: " + strings.Join(failed, " ")
	}
	return detail, nil
}

func (b *boot) mountRootfs() (string, error) {
	dev, c, err := b.sys.attachLoop(layout.RootfsImage)
	if err != nil {
		return "", fmt.Errorf("rootfs: %w", err)
	}
	defer c.Close() // the mount keeps the autoclear device attached
	p := mount.Point{Source: dev, Target: layout.NewRoot, FSType: "squashfs", Flags: unix.MS_RDONLY | unix.MS_NODEV}
	if err := b.sys.mount(p); err != nil {
		return "", fmt.Errorf("rootfs: %w", err)
	}
	return fmt.Sprintf("%s on %s via %s (read-only)", layout.RootfsImage, layout.NewRoot, dev), nil
}

// writable mounts the tmpfs file systems of the new root and the /etc
// overlay, whose upper layer lives in /system.
func (b *boot) writable() (string, error) {
	root := func(p string) string { return path.Join(layout.NewRoot, p) }
	for _, p := range []mount.Point{
		{Source: "tmpfs", Target: root(layout.SystemDir), FSType: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=0755"},
		{Source: "tmpfs", Target: root("/var"), FSType: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=0755"},
	} {
		if err := b.sys.mount(p); err != nil {
			return "", fmt.Errorf("writable: %w", err)
		}
	}
	upper, work := root(layout.OverlayDir+"/etc/upper"), root(layout.OverlayDir+"/etc/work")
	for _, d := range []string{upper, work} {
		if err := b.sys.mkdirAll(d); err != nil {
			return "", fmt.Errorf("writable: %w", err)
		}
	}
	ov, err := mount.Overlay(root("/etc"), upper, work, root("/etc"))
	if err != nil {
		return "", fmt.Errorf("writable: %w", err)
	}
	if err := b.sys.mount(ov); err != nil {
		return "", fmt.Errorf("writable: %w", err)
	}
	return "/system, /var (tmpfs), /etc (overlay)", nil
}

func (b *boot) moveMounts() (string, error) {
	for _, m := range moved {
		if err := b.sys.move(m, path.Join(layout.NewRoot, m)); err != nil {
			return "", err
		}
	}
	return strings.Join(moved, " "), nil
}

func (b *boot) cleanup() (string, error) {
	n, err := b.sys.cleanInitramfs(layout.NewRoot)
	if err != nil {
		// Only memory is lost: keep booting.
		b.warn(fmt.Sprintf("cleanup: %v", err))
	}
	return fmt.Sprintf("%d initramfs files freed", n), nil
}

func (b *boot) switchRoot() (string, error) {
	if err := b.sys.switchRoot(layout.NewRoot); err != nil {
		return "", err
	}
	return "", nil
}
