package qemu

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitStatus builds a wait status: exited with code, or killed by sig.
func waitStatus(code int, sig syscall.Signal) syscall.WaitStatus {
	if sig != 0 {
		return syscall.WaitStatus(sig)
	}
	return syscall.WaitStatus(code << 8)
}

func TestRestartPolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ws       syscall.WaitStatus
		reason   string
		qmpErr   error
		stopping bool
		cause    exitCause
		restart  bool
		says     string
	}{
		{"reboot", waitStatus(0, 0), "guest-reset", nil, false, exitReboot, true, "the guest rebooted (guest-reset)"},
		{"kernel panic with panic=10", waitStatus(0, 0), "guest-reset", nil, false, exitReboot, true, "rebooted"},
		{"power off", waitStatus(0, 0), "guest-shutdown", nil, false, exitPowerOff, false, "powered off"},
		{"panic", waitStatus(0, 0), "guest-panic", nil, false, exitPanic, false, "panicked"},
		{"power cut (SIGKILL by a test)", waitStatus(0, syscall.SIGKILL), "", nil, false, exitKilled, true, "QEMU was killed (killed): a power cut"},
		{"SIGKILL after a reset event", waitStatus(0, syscall.SIGKILL), "guest-reset", nil, false, exitKilled, true, "power cut"},
		{"cluster destroy's SIGTERM", waitStatus(0, 0), "host-signal", nil, false, exitStopped, false, "signal from the host"},
		{"the launcher's own stop", waitStatus(0, 0), "host-signal", nil, true, exitStopped, false, "stopped by the launcher"},
		{"the launcher's SIGKILL", waitStatus(0, syscall.SIGKILL), "", nil, true, exitStopped, false, "stopped by the launcher"},
		{"a reboot while stopping", waitStatus(0, 0), "guest-reset", nil, true, exitStopped, false, "launcher"},
		{"bad arguments", waitStatus(1, 0), "", nil, false, exitFailed, false, "QEMU failed (exit status 1)"},
		{"no event", waitStatus(0, 0), "", errors.New("read QMP: reset"), false, exitUnknown, false, "without saying why (read QMP: reset)"},
	} {
		e := exitOf(tc.ws, tc.reason, tc.qmpErr, tc.stopping)
		if c := e.cause(); c != tc.cause || c.restarts() != tc.restart || !strings.Contains(e.String(), tc.says) {
			t.Errorf("%s: cause %d, restart %v, %q; want %d, %v, %q", tc.name, c, c.restarts(), e.String(), tc.cause, tc.restart, tc.says)
		}
	}
}

func TestRestartDelay(t *testing.T) {
	// A crash loop: the burst starts at once, then the waits double up to
	// the cap.
	quick := 0
	var delays []time.Duration
	for range 12 {
		quick = quickEnds(quick, 2*time.Second)
		delays = append(delays, restartDelay(quick))
	}
	want := []time.Duration{0, 0, 0, 0, 0, 5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second,
		time.Minute, time.Minute, time.Minute}
	for i, w := range want {
		if delays[i] != w {
			t.Errorf("restart %d waits %s, want %s (all: %v)", i+1, delays[i], w, delays)
		}
	}
	// A run that lasted resets the count: reboots of a healthy node, an
	// install's reboot, never wait.
	if quick = quickEnds(quick, stableRun); quick != 0 || restartDelay(quickEnds(quick, time.Second)) != 0 {
		t.Errorf("after a stable run: %d quick ends", quick)
	}
	if d := restartDelay(1000); d != maxRestartDelay {
		t.Errorf("a long loop waits %s", d)
	}
}
