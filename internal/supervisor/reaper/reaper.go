// Package reaper collects the exit statuses of every child of this process
// when it is PID 1 or a child subreaper, without stealing them from the code
// that started those children.
//
// A PID 1 (or a subreaper) inherits orphaned grandchildren, and must wait for
// them or they stay zombies forever. A loop around wait4(-1) does that, but
// it also collects the children that a runner waits for with cmd.Wait, which
// then fails with ECHILD. So the Reaper is the only caller of wait: runners
// start their children through Spawn, which returns a Waiter that receives
// the child's status, and everything else is logged and dropped.
//
// Fork and registration race with reaping: a child may exit before its PID
// is registered. Spawn therefore runs the fork while holding the same lock
// that every reaping sweep holds, so a sweep can never collect a child whose
// PID is not registered yet; it collects it on the next SIGCHLD instead.
//
//	New ──Run──▶ running (sweeps on every SIGCHLD) ──ctx done──▶ stopped
//
// Spawn works in every state: before Run the child is collected by Run's
// first sweep; after Run ends each pending and new child is waited for by
// PID on its own goroutine.
package reaper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// SetSubreaper marks this process as a child subreaper, so orphaned
// descendants are reparented to it instead of to PID 1.
func SetSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set child subreaper: %w", err)
	}
	return nil
}

// ShouldReap reports whether this process inherits orphans: it is PID 1, or
// subreaper is true.
func ShouldReap(subreaper bool) bool {
	return os.Getpid() == 1 || subreaper
}

type state int

const (
	stateNew state = iota
	stateRunning
	stateStopped
)

// Reaper dispatches exit statuses to registered Waiters and reaps orphans.
type Reaper struct {
	logger *slog.Logger

	mu      sync.Mutex // held across Spawn's fork and across every sweep
	state   state
	waiters map[int]*Waiter
}

// New returns a Reaper that logs reaped orphans to logger (slog.Default when
// nil). Call Run to start reaping.
func New(logger *slog.Logger) *Reaper {
	if logger == nil {
		logger = slog.Default()
	}
	return &Reaper{
		logger:  logger.With("component", "reaper"),
		waiters: make(map[int]*Waiter),
	}
}

// Run reaps children on every SIGCHLD until ctx is done. It must be called
// at most once.
func (r *Reaper) Run(ctx context.Context) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGCHLD)
	defer signal.Stop(sigs)

	r.mu.Lock()
	if r.state != stateNew {
		r.mu.Unlock()
		return errors.New("reaper: Run called twice")
	}
	r.state = stateRunning
	r.mu.Unlock()
	defer r.stop()

	r.sweep()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sigs:
			r.sweep()
		}
	}
}

// Spawn calls start, which must start exactly one child process and return
// its PID, while reaping is held off, and registers the PID. The returned
// Waiter receives the child's exit status. An error from start is returned
// as is and nothing is registered.
func (r *Reaper) Spawn(start func() (pid int, err error)) (*Waiter, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := start()
	if err != nil {
		return nil, err
	}
	w := &Waiter{pid: pid, done: make(chan struct{})}
	if r.state == stateStopped {
		go w.waitDirect()
		return w, nil
	}
	r.waiters[pid] = w
	return w, nil
}

// sweep collects every exited child without blocking.
func (r *Reaper) sweep() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return // ECHILD: no children at all; 0: none has exited
		}
		if w, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			w.deliver(ws, nil)
			continue
		}
		r.logger.Debug("reaped orphan", "pid", pid, "status", describe(ws))
	}
}

// stop hands every pending waiter over to a direct wait on its PID.
func (r *Reaper) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state = stateStopped
	for pid, w := range r.waiters {
		delete(r.waiters, pid)
		go w.waitDirect()
	}
}

// Waiter receives the exit status of one child started by Spawn.
type Waiter struct {
	pid    int
	done   chan struct{}
	status unix.WaitStatus
	err    error
}

// PID is the child's process ID.
func (w *Waiter) PID() int { return w.pid }

// Done is closed once the child has exited and been reaped.
func (w *Waiter) Done() <-chan struct{} { return w.done }

// Status blocks until the child has been reaped and returns its wait
// status, or an error when the status could not be collected.
func (w *Waiter) Status() (unix.WaitStatus, error) {
	<-w.done
	return w.status, w.err
}

func (w *Waiter) deliver(ws unix.WaitStatus, err error) {
	w.status, w.err = ws, err
	close(w.done)
}

// waitDirect blocks in wait4 for this waiter's PID alone.
func (w *Waiter) waitDirect() {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(w.pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			err = fmt.Errorf("wait for pid %d: %w", w.pid, err)
		}
		w.deliver(ws, err)
		return
	}
}

func describe(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "signal: " + ws.Signal().String()
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}
