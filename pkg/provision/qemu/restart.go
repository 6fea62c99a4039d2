package qemu

import (
	"fmt"
	"syscall"
	"time"
)

// A node's QEMU runs with -no-reboot, so it ends at every guest reboot,
// and the launcher starts it again, choosing the boot mode anew (an
// install's reboot comes back from the disk):
//
//	start (live or disk) ──▶ running ──▶ QEMU exits ──▶ why?
//	  ▲                                                  │
//	  │  guest reset (reboot, panic=10) ─────────────────┤
//	  │  killed by a signal it could not handle          │ (power cut: SIGKILL)
//	  └── after restartDelay ◀───────────────────────────┘
//	stays off: guest power-off or panic, a host signal QEMU handled
//	(SIGTERM: cluster destroy), the launcher stopping, QEMU failing.

// exitCause is why a node's QEMU ended.
type exitCause int

// Exit causes.
const (
	// exitReboot: the guest reset (QMP SHUTDOWN guest-reset).
	exitReboot exitCause = iota
	// exitPowerOff: the guest powered off.
	exitPowerOff
	// exitPanic: the guest panicked (GUEST_PANICKED, or SHUTDOWN
	// guest-panic).
	exitPanic
	// exitStopped: the launcher stopped it, or QEMU handled a signal
	// from the host (SIGTERM, SIGINT, SIGHUP: cluster destroy, a user).
	exitStopped
	// exitKilled: a signal QEMU cannot handle ended it (SIGKILL): a power
	// cut.
	exitKilled
	// exitFailed: QEMU exited with an error, the guest never stopping
	// (bad arguments, a missing file, a lock held on the disk).
	exitFailed
	// exitUnknown: QEMU exited without an error and without saying why.
	exitUnknown
)

// qemuExit is what the launcher knows when a QEMU ends.
type qemuExit struct {
	// Reason is the last QMP SHUTDOWN reason, or guest-panic.
	Reason string
	// Signal killed QEMU (0 when it exited); Code is its exit status.
	Signal syscall.Signal
	Code   int
	// Stopping is set when the launcher itself is stopping its VMs.
	Stopping bool
	// QMPError is why the monitor could not be followed, if it could not.
	QMPError error
}

// exitOf describes a QEMU that ended with wait status ws.
func exitOf(ws syscall.WaitStatus, reason string, qmpErr error, stopping bool) qemuExit {
	e := qemuExit{Reason: reason, Stopping: stopping, QMPError: qmpErr}
	if ws.Signaled() {
		e.Signal = ws.Signal()
	} else {
		e.Code = ws.ExitStatus()
	}
	return e
}

// cause classifies the exit.
func (e qemuExit) cause() exitCause {
	switch {
	case e.Stopping:
		return exitStopped
	case e.Signal != 0:
		return exitKilled
	}
	switch e.Reason {
	case shutdownGuestReset, "host-qmp-system-reset", "subsystem-reset":
		return exitReboot
	case shutdownGuestShutdown:
		return exitPowerOff
	case shutdownGuestPanic:
		return exitPanic
	case shutdownHostSignal, "host-qmp-quit", "host-ui":
		return exitStopped
	}
	if e.Code != 0 {
		return exitFailed
	}
	return exitUnknown
}

// restarts says whether the launcher starts the node again after an exit
// of this cause.
func (c exitCause) restarts() bool { return c == exitReboot || c == exitKilled }

// String words the exit for the log, the status and `cluster show`.
func (e qemuExit) String() string {
	switch e.cause() {
	case exitStopped:
		if e.Stopping {
			return "stopped by the launcher"
		}
		return "stopped by a signal from the host (" + e.Reason + ")"
	case exitReboot:
		return "the guest rebooted (" + e.Reason + ")"
	case exitPowerOff:
		return "the guest powered off"
	case exitPanic:
		return "the guest panicked"
	case exitKilled:
		return "QEMU was killed (" + e.Signal.String() + "): a power cut"
	case exitFailed:
		return fmt.Sprintf("QEMU failed (exit status %d)", e.Code)
	}
	if e.QMPError != nil {
		return fmt.Sprintf("QEMU exited without saying why (%v)", e.QMPError)
	}
	return "QEMU exited without saying why"
}

// Bounds of restart loops: a QEMU that ran less than stableRun ended
// quickly; after restartBurst quick ends in a row, the node waits
// firstBackoff before its next start, twice as long after each further
// quick end, at most maxRestartDelay. A run of stableRun or more resets
// the count.
const (
	stableRun       = time.Minute
	restartBurst    = 5
	firstBackoff    = 5 * time.Second
	maxRestartDelay = time.Minute
)

// quickEnds counts the quick ends in a row after a QEMU that ran for
// ranFor, given the count before it.
func quickEnds(before int, ranFor time.Duration) int {
	if ranFor >= stableRun {
		return 0
	}
	return before + 1
}

// restartDelay is how long a node waits before its next start after
// quick quick ends in a row.
func restartDelay(quick int) time.Duration {
	over := quick - restartBurst
	if over <= 0 {
		return 0
	}
	return min(firstBackoff<<min(over-1, 8), maxRestartDelay)
}
