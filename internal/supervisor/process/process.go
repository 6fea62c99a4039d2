// Package process runs a service as a child process: output captured into
// the service log, capabilities dropped from its bounding set, placed in its
// own cgroup v2 group when possible, stopped with SIGTERM then SIGKILL.
//
// One Runner runs the program once:
//
//	Run ──▶ create cgroup ──▶ start (through the reaper if any) ──▶ started()
//	    ──▶ wait for exit ◀── ctx done: SIGTERM group, GracePeriod, SIGKILL
//	    ──▶ kill leftovers, remove cgroup, drain output ──▶ exit status
package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/plinth-os/plinth/internal/supervisor/cgroup"
	"github.com/plinth-os/plinth/internal/supervisor/reaper"
	"golang.org/x/sys/unix"
)

// DefaultGracePeriod is how long a process has to exit after SIGTERM.
const DefaultGracePeriod = 10 * time.Second

// drainTimeout bounds how long output is read after the process exits, in
// case a stray descendant keeps the pipe open.
const drainTimeout = 2 * time.Second

// cleanupTimeout bounds how long leftovers get to leave the cgroup.
const cleanupTimeout = 10 * time.Second

// Options describe the program and how to run it.
type Options struct {
	// Name is the service ID: it names the cgroup and tags log records.
	Name string
	// Path is the program; looked up in $PATH when it has no slash.
	Path string
	// Args are the arguments after the program name.
	Args []string
	// Env is the complete environment; nil means an empty one (services do
	// not inherit the supervisor's environment).
	Env []string
	// Dir is the working directory; "/" when empty.
	Dir string
	// DropCapabilities are removed from the process's bounding and
	// inheritable sets before it starts (see trampoline.go for how).
	DropCapabilities []Capability
	// Cgroups, when set and available, gives the process its own group.
	Cgroups *cgroup.Manager
	// Limits are written to the process's group, when it has one.
	Limits cgroup.Limits
	// Reaper, when set, collects the exit status instead of a wait on the
	// child: required when this process reaps orphans (PID 1, subreaper).
	Reaper *reaper.Reaper
	// OOMScoreAdj, when not zero, is written to the process's
	// oom_score_adj right after it starts. Lowering it needs
	// CAP_SYS_RESOURCE; a refusal is logged and the process runs on.
	OOMScoreAdj int
	// GracePeriod is the time between SIGTERM and SIGKILL;
	// DefaultGracePeriod when zero.
	GracePeriod time.Duration
	// Logger receives start and exit records; slog.Default when nil.
	Logger *slog.Logger
}

// Runner runs a program once. It satisfies the supervisor's Runner
// interface.
type Runner struct {
	opts   Options
	logger *slog.Logger
}

// New returns a Runner for opts.
func New(opts Options) *Runner {
	if opts.GracePeriod <= 0 {
		opts.GracePeriod = DefaultGracePeriod
	}
	if opts.Dir == "" {
		opts.Dir = "/"
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Runner{opts: opts, logger: logger.With("component", "process", "service", opts.Name)}
}

// String describes the runner for logs.
func (r *Runner) String() string {
	return "process " + strings.Join(append([]string{r.opts.Path}, r.opts.Args...), " ")
}

// ExitError is returned by Run when the process did not exit with status 0.
type ExitError struct {
	// Code is the exit code, or -1 when a signal ended the process.
	Code int
	// Signal ended the process when not zero.
	Signal syscall.Signal
}

func (e *ExitError) Error() string {
	if e.Signal != 0 {
		return "killed by signal: " + e.Signal.String()
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

func statusError(ws unix.WaitStatus) error {
	switch {
	case ws.Signaled():
		return &ExitError{Code: -1, Signal: syscall.Signal(ws.Signal())}
	case ws.ExitStatus() != 0:
		return &ExitError{Code: ws.ExitStatus()}
	}
	return nil
}

// Run starts the program with its output written to out, calls started
// once it runs, and waits for it to exit. When ctx is done it stops the
// program: SIGTERM to its process group, then SIGKILL after the grace
// period. It returns nil for exit status 0, an *ExitError for any other
// ending, or an error when the program could not be started.
func (r *Runner) Run(ctx context.Context, out io.Writer, started func()) error {
	if err := ctx.Err(); err != nil {
		return err // stopped before it started
	}
	group, err := r.createGroup()
	if err != nil {
		return err
	}
	cmd, err := r.command(group)
	if err != nil {
		r.closeGroup(group)
		return err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		r.closeGroup(group)
		return fmt.Errorf("output pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	c, err := r.start(cmd)
	_ = pw.Close()
	if err != nil {
		_ = pr.Close()
		r.closeGroup(group)
		return fmt.Errorf("start %s: %w", r.opts.Path, err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(out, pr)
	}()
	r.logger.Info("process started", "pid", c.pid, "cgroup", groupPath(group))
	r.setOOMScoreAdj(c.pid)
	if started != nil {
		started()
	}

	ws, err := r.wait(ctx, c, group)
	r.cleanup(c.pid, group)
	drain(pr, copied)
	if err != nil {
		return fmt.Errorf("wait for %s: %w", r.opts.Path, err)
	}
	exitErr := statusError(ws)
	r.logger.Info("process exited", "pid", c.pid, "status", describe(exitErr))
	return exitErr
}

func (r *Runner) createGroup() (*cgroup.Group, error) {
	if r.opts.Cgroups == nil || r.opts.Cgroups.Available() != nil {
		return nil, nil // the manager has said why, once
	}
	g, err := r.opts.Cgroups.Create(r.opts.Name, r.opts.Limits)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", r.opts.Name, err)
	}
	return g, nil
}

func (r *Runner) closeGroup(g *cgroup.Group) {
	if g == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := g.Close(ctx); err != nil {
		r.logger.Warn("cgroup cleanup failed", "error", err)
	}
}

// command builds the exec.Cmd, through the trampoline when capabilities are
// to be dropped.
func (r *Runner) command(g *cgroup.Group) (*exec.Cmd, error) {
	path := r.opts.Path
	if !strings.Contains(path, "/") {
		found, err := exec.LookPath(path)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", r.opts.Name, err)
		}
		path = found
	}
	cmd := &exec.Cmd{
		Path: path,
		Args: append([]string{path}, r.opts.Args...),
		Env:  r.opts.Env,
		Dir:  r.opts.Dir,
		// Its own process group, so signals reach its descendants too.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	if mask := capMask(r.opts.DropCapabilities); mask != 0 {
		cmd.Path = selfExe
		cmd.Args = trampolineArgv(mask, path, r.opts.Args)
	}
	if g != nil {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = g.FD()
	}
	return cmd, nil
}

// child is a started process whose exit can be awaited.
type child struct {
	pid    int
	done   <-chan struct{}
	status func() (unix.WaitStatus, error)
}

func (r *Runner) start(cmd *exec.Cmd) (*child, error) {
	if r.opts.Reaper != nil {
		w, err := r.opts.Reaper.Spawn(func() (int, error) {
			if err := cmd.Start(); err != nil {
				return 0, err
			}
			return cmd.Process.Pid, nil
		})
		if err != nil {
			return nil, err
		}
		// The reaper collects the status; only the handle is left to free.
		_ = cmd.Process.Release()
		return &child{pid: w.PID(), done: w.Done(), status: w.Status}, nil
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	var ws unix.WaitStatus
	var waitErr error
	go func() {
		defer close(done)
		state, err := cmd.Process.Wait()
		if err != nil {
			waitErr = err
			return
		}
		ws = unix.WaitStatus(state.Sys().(syscall.WaitStatus))
	}()
	status := func() (unix.WaitStatus, error) { <-done; return ws, waitErr }
	return &child{pid: cmd.Process.Pid, done: done, status: status}, nil
}

// wait returns the exit status, stopping the process when ctx is done.
func (r *Runner) wait(ctx context.Context, c *child, g *cgroup.Group) (unix.WaitStatus, error) {
	select {
	case <-c.done:
		return c.status()
	case <-ctx.Done():
	}
	r.logger.Info("stopping process", "pid", c.pid, "grace_period", r.opts.GracePeriod)
	signalGroup(c.pid, unix.SIGTERM)
	grace := time.NewTimer(r.opts.GracePeriod)
	defer grace.Stop()
	select {
	case <-c.done:
		return c.status()
	case <-grace.C:
	}
	r.logger.Warn("process ignored SIGTERM, killing it", "pid", c.pid)
	signalGroup(c.pid, unix.SIGKILL)
	if g != nil {
		_ = g.Kill()
	}
	return c.status()
}

// cleanup kills what the process left behind in its process group and
// cgroup, so a service's descendants do not outlive it.
func (r *Runner) cleanup(pid int, g *cgroup.Group) {
	signalGroup(pid, unix.SIGKILL)
	r.closeGroup(g)
}

// setOOMScoreAdj applies Options.OOMScoreAdj to pid.
func (r *Runner) setOOMScoreAdj(pid int) {
	if r.opts.OOMScoreAdj == 0 {
		return
	}
	p := fmt.Sprintf("/proc/%d/oom_score_adj", pid)
	if err := os.WriteFile(p, []byte(strconv.Itoa(r.opts.OOMScoreAdj)), 0); err != nil {
		r.logger.Warn("oom_score_adj not applied", "pid", pid, "value", r.opts.OOMScoreAdj, "error", err)
	}
}

// signalGroup signals the process group led by pid; a group that is
// already gone is not an error.
func signalGroup(pid int, sig unix.Signal) {
	_ = unix.Kill(-pid, sig)
}

// drain waits for the output copy to finish, closing the pipe if a stray
// descendant keeps it open.
func drain(pr *os.File, copied <-chan struct{}) {
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case <-copied:
	case <-t.C:
	}
	_ = pr.Close()
	<-copied
}

func groupPath(g *cgroup.Group) string {
	if g == nil {
		return ""
	}
	return g.Path()
}

func describe(err error) string {
	var exitErr *ExitError
	if err == nil {
		return "exit status 0"
	}
	if errors.As(err, &exitErr) {
		return exitErr.Error()
	}
	return err.Error()
}
