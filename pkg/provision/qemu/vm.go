package qemu

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// errStopping refuses a start once the launcher is stopping.
var errStopping = errors.New("the launcher is stopping")

// loggedEvents are the QMP events the launcher logs: those about the
// guest's power (not RTC_CHANGE, NIC_RX_FILTER_CHANGED and the like).
var loggedEvents = map[string]bool{
	"SHUTDOWN": true, "RESET": true, "POWERDOWN": true, "GUEST_PANICKED": true,
	"STOP": true, "SUSPEND": true, "WAKEUP": true, "BLOCK_IO_ERROR": true,
}

// vm is one run of a node's QEMU, from its start to its exit.
type vm struct {
	cmd    *exec.Cmd
	mode   BootMode
	stderr *tailBuffer
	qmp    qmpWatch
	// done is closed once QEMU has exited and its console and monitor
	// have been read to their end; ws is then its wait status.
	done chan struct{}
	ws   syscall.WaitStatus
	// started is when QEMU was started.
	started time.Time
}

// startVM chooses how node n boots, opens its tap (anew: a tap lives only
// while a file refers to it) and its monitor, and starts its QEMU,
// appending its console to the node's log.
func (l *launcher) startVM(n NodeSpec) (*vm, error) {
	s := l.spec
	mode, why := chooseBootMode(n.Disk, s.OVMFCode != "" && n.Vars != "")
	tap, err := l.openTap(s.Net, n.Tap)
	if err != nil {
		return nil, err
	}
	defer tap.Close() // QEMU holds its own copy
	mon, qemuEnd, err := monitorPair()
	if err != nil {
		return nil, err
	}
	defer qemuEnd.Close()
	console, err := os.OpenFile(s.consoleLog(n.Name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		mon.Close()
		return nil, fmt.Errorf("console log: %w", err)
	}
	fail := func(err error) (*vm, error) {
		mon.Close()
		console.Close()
		return nil, err
	}
	args := s.QemuArgs(n, mode, ConfigURL(l.server, n.Name))
	cmd := exec.Command(s.Binary, args...)
	cmd.ExtraFiles = []*os.File{tap, qemuEnd} // tapFD, qmpFD
	v := &vm{cmd: cmd, mode: mode, stderr: &tailBuffer{max: 8 << 10}, done: make(chan struct{})}
	cmd.Stderr = v.stderr
	// QEMU dies with the launcher, whatever kills it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fail(fmt.Errorf("qemu: %w", err))
	}
	l.log.Info("starting qemu", "node", n.Name, "boot", mode, "why", why, "command", quoteArgs(s.Binary, args))
	fmt.Fprintf(console, "=== plinth launcher %s: QEMU started, %s boot (%s) ===\n", time.Now().Format(time.RFC3339), mode, why)
	if err := l.launch(n.Name, v); err != nil {
		return fail(err)
	}
	l.status.node(n.Name, func(ns *NodeStatus, now time.Time) {
		ns.PID, ns.Started, ns.BootMode, ns.BootModeReason = cmd.Process.Pid, now, mode, why
		ns.Exited, ns.ExitError, ns.RestartAt = time.Time{}, "", time.Time{}
	})
	go v.watch(mon, console, out, l, n.Name)
	return v, nil
}

// launch starts the QEMU of v and makes it the node's current one, unless
// the launcher is stopping: a QEMU started after stop looked would run on.
func (l *launcher) launch(node string, v *vm) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopping {
		return errStopping
	}
	if err := v.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", v.cmd.Path, err)
	}
	v.started = time.Now()
	l.vms[node] = v
	return nil
}

// watch follows a started QEMU: it copies its console, counting boots,
// follows its monitor, then reaps it and closes done.
func (v *vm) watch(mon net.Conn, console *os.File, out io.Reader, l *launcher, node string) {
	defer close(v.done)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		v.qmp.follow(mon, func(m qmpMessage) {
			if loggedEvents[m.Event] {
				l.log.Info("qemu event", "node", node, "event", m.Event, "reason", m.Reason, "guest", m.Guest)
			}
		})
	}()
	copyConsole(out, console, time.Now, func(arrived time.Time, uptime time.Duration) {
		l.status.node(node, func(ns *NodeStatus, _ time.Time) {
			ns.Boots++
			ns.InitStarted = arrived
			ns.KernelStarted = arrived.Add(-uptime)
		})
	})
	err := v.cmd.Wait() // after the console's end: Wait closes the pipe
	console.Close()
	// QEMU's end of the monitor closed with it; the reader sees the end.
	wg.Wait()
	mon.Close()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		v.ws, _ = ee.Sys().(syscall.WaitStatus)
	default:
		l.log.Warn("qemu not reaped", "node", node, "error", err)
	}
}

// supervise waits for each QEMU of node n to end, and starts the next
// one when the guest rebooted or QEMU was killed (restart.go); otherwise
// the node stays off, and the status says why.
func (l *launcher) supervise(n NodeSpec, v *vm) {
	defer l.supervisors.Done()
	quick := 0 // QEMUs in a row that ended quickly
	for {
		<-v.done
		reason, qerr := v.qmp.shutdownReason()
		exit := exitOf(v.ws, reason, qerr, l.isStopping())
		why := exit.String()
		if msg := v.stderr.String(); msg != "" {
			why += ": " + tailLines(msg, 3)
		}
		cause := exit.cause()
		l.log.Info("qemu exited", "node", n.Name, "pid", v.cmd.Process.Pid, "why", why, "restart", cause.restarts())
		if !cause.restarts() {
			l.stayOff(n.Name, why)
			return
		}
		quick = quickEnds(quick, time.Since(v.started))
		delay := restartDelay(quick)
		l.status.node(n.Name, func(ns *NodeStatus, now time.Time) {
			ns.Restarts++
			ns.LastExit, ns.LastExitReason = now, why
			if delay > 0 {
				ns.RestartAt = now.Add(delay)
			}
		})
		if delay > 0 {
			l.log.Warn("restart loop: waiting before the next start", "node", n.Name, "delay", delay, "quick_ends_in_a_row", quick)
			if err := pause(l.ctx, delay); err != nil {
				l.stayOff(n.Name, why+"; not restarted: "+errStopping.Error())
				return
			}
		}
		next, err := l.startVM(n)
		if err != nil {
			l.log.Error("qemu not restarted", "node", n.Name, "error", err)
			l.stayOff(n.Name, why+"; not restarted: "+err.Error())
			return
		}
		l.log.Info("qemu restarted", "node", n.Name, "after", why, "boot", next.mode, "pid", next.cmd.Process.Pid)
		v = next
	}
}

// stayOff records that the node's QEMU is not started again.
func (l *launcher) stayOff(node, why string) {
	l.status.node(node, func(ns *NodeStatus, now time.Time) {
		ns.Exited, ns.ExitError = now, why
		ns.LastExit, ns.LastExitReason = now, why
		ns.RestartAt = time.Time{}
	})
}

// monitorPair makes the socket pair of a QEMU monitor: the launcher's end
// as a connection, QEMU's end as the file to pass as qmpFD.
func monitorPair() (net.Conn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("QMP socket pair: %w", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "qmp")
	defer ours.Close() // FileConn holds a duplicate
	conn, err := net.FileConn(ours)
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("QMP socket: %w", err)
	}
	return conn, os.NewFile(uintptr(fds[1]), "qmp (qemu)"), nil
}
