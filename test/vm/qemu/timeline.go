package qemu

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	initapp "github.com/plinth-os/plinth/internal/app/init"
)

// Console lines the boot prints, as patterns.
var (
	// InitStarted is init's first line, with the kernel uptime.
	InitStarted = regexp.MustCompile(regexp.QuoteMeta(initapp.Prefix) + `started at uptime ([0-9.]+)s`)
	// InitExec is init's last line, before it executes machined.
	InitExec = regexp.MustCompile(regexp.QuoteMeta(initapp.Prefix) + `exec (\S+) at uptime ([0-9.]+)s after (\d+)ms in init`)
	// InitFatal is printed when init fails (it then reboots).
	InitFatal = regexp.MustCompile(regexp.QuoteMeta(initapp.Prefix) + `FATAL: (.*)`)
	// Maintenance is machined's console banner without a config.
	Maintenance = regexp.MustCompile(`maintenance mode: waiting for a machine config on (\S+); certificate fingerprint SHA256 ([0-9A-F:]+)`)
	// KernelPanic is the kernel's panic line.
	KernelPanic = regexp.MustCompile(`Kernel panic`)
)

// BootTimes are the figures of one boot.
type BootTimes struct {
	// KernelToInit is the kernel uptime when init started.
	KernelToInit time.Duration
	// InitToExec is how long init ran before executing machined.
	InitToExec time.Duration
	// ExecToMaintenance is the host time from init's exec line to
	// machined's maintenance banner.
	ExecToMaintenance time.Duration
	// QemuToInit is the host time from starting QEMU to init's first line
	// (firmware, kernel loading and decompression, kernel boot).
	QemuToInit time.Duration
	// QemuToMaintenance is the host time from starting QEMU to the banner.
	QemuToMaintenance time.Duration
}

// ParseBoot extracts the boot figures from a finished boot's console.
func ParseBoot(started time.Time, lines []Line) (BootTimes, error) {
	var t BootTimes
	var initAt, execAt, maintAt time.Time
	for _, l := range lines {
		if m := InitStarted.FindStringSubmatch(l.Text); m != nil {
			t.KernelToInit = secs(m[1])
			initAt = l.At
		}
		if m := InitExec.FindStringSubmatch(l.Text); m != nil {
			ms, _ := strconv.Atoi(m[3])
			t.InitToExec = time.Duration(ms) * time.Millisecond
			execAt = l.At
		}
		if Maintenance.MatchString(l.Text) && maintAt.IsZero() {
			maintAt = l.At
		}
	}
	switch {
	case t.KernelToInit == 0:
		return t, fmt.Errorf("no %q line", InitStarted)
	case execAt.IsZero():
		return t, fmt.Errorf("no %q line", InitExec)
	case maintAt.IsZero():
		return t, fmt.Errorf("no %q line", Maintenance)
	}
	t.QemuToInit = initAt.Sub(started)
	t.ExecToMaintenance = maintAt.Sub(execAt)
	t.QemuToMaintenance = maintAt.Sub(started)
	return t, nil
}

func secs(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Second))
}
