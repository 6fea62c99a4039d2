package qemu

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestArgs(t *testing.T) {
	c := Config{Vmlinux: "/o/vmlinux", Vmlinuz: "/o/vmlinuz", Initrd: "/o/initramfs", Accel: AccelTCG, HostPort: 15000, Quiet: true, Append: []string{"plinth.x=1"}}
	got := strings.Join(c.Args(true), " ")
	for _, want := range []string{
		"-accel tcg -cpu max -smp 2 -m 1024",
		"hostfwd=tcp:127.0.0.1:15000-:50000",
		"-bios " + QbootROM + " -kernel /o/vmlinux -initrd /o/initramfs",
		"-append console=ttyS0 panic=-1 quiet plinth.x=1",
		"-no-reboot",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("args lack %q:\n%s", want, got)
		}
	}
	if got := strings.Join(c.Args(false), " "); !strings.Contains(got, "-kernel /o/vmlinuz -initrd") || strings.Contains(got, "-bios") {
		t.Errorf("fallback args: %s", got)
	}
}

func TestConsoleWaitFor(t *testing.T) {
	c := newConsole()
	pr, pw := io.Pipe()
	go c.read(pr)
	go func() {
		_, _ = io.WriteString(pw, "early\r\nplinth-init: started at uptime 1.5s (plinth dev)\r\n")
		time.Sleep(10 * time.Millisecond)
		_, _ = io.WriteString(pw, "late line\n")
		pw.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := c.WaitFor(ctx, regexp.MustCompile("late"))
	if err != nil || l.Text != "late line" {
		t.Fatalf("got %+v, %v", l, err)
	}
	if l, err := c.WaitFor(ctx, InitStarted); err != nil || !strings.HasSuffix(l.Text, "(plinth dev)") {
		t.Fatalf("earlier line: %+v, %v", l, err)
	}
	if _, err := c.WaitFor(ctx, regexp.MustCompile("never")); !errors.Is(err, ErrExited) {
		t.Fatalf("after EOF: %v", err)
	}
}

func TestParseBoot(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	lines := []Line{
		{Text: "plinth-init: started at uptime 1.570s (plinth dev)", At: at(1800)},
		{Text: "plinth-init: modules        242ms  12 loaded, 0 already present", At: at(2000)},
		{Text: "plinth-init: exec /usr/bin/machined at uptime 1.879s after 309ms in init", At: at(2100)},
		{Text: "maintenance mode: waiting for a machine config on :50000; certificate fingerprint SHA256 63:E7:AB", At: at(3050)},
	}
	got, err := ParseBoot(t0, lines)
	if err != nil {
		t.Fatal(err)
	}
	want := BootTimes{KernelToInit: 1570 * time.Millisecond, InitToExec: 309 * time.Millisecond, QemuToInit: 1800 * time.Millisecond,
		ExecToMaintenance: 950 * time.Millisecond, QemuToMaintenance: 3050 * time.Millisecond}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := ParseBoot(t0, lines[:3]); err == nil {
		t.Fatal("a boot without the maintenance line parsed")
	}
}

func TestParseStatCPU(t *testing.T) {
	stat := "4242 (qemu-system-x86) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 30 0 0 20 0 5 0 100 0 0"
	got, err := parseStatCPU(stat)
	if err != nil || got != 2800*time.Millisecond {
		t.Fatalf("got %v, %v; want 2.8s", got, err)
	}
	if _, err := parseStatCPU("garbage"); err == nil {
		t.Fatal("garbage parsed")
	}
}
