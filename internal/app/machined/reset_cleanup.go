package machined

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-os/plinth/internal/sys/procfs"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// leftoverGrace is how long the processes services left behind get to
// exit after SIGTERM before SIGKILL.
const leftoverGrace = 10 * time.Second

// stopLeftovers ends what the stopped services left running: the pods'
// containers and their containerd shims outlive containerd, and their
// mounts under /var would stop the wipe. Only machined as PID 1 of its
// node does it: kill(-1) reaches every process of its PID namespace but
// itself (kernel threads ignore it), and its reaper collects them.
func (m *machined) stopLeftovers(ctx context.Context) error {
	if os.Getpid() != 1 {
		return nil
	}
	n, err := stopAll(ctx, m.path("/proc"), leftoverGrace, unix.Kill, m.logger)
	if n > 0 {
		m.logger.Info("processes left by the services stopped", "count", n)
	}
	return err
}

// stopAll sends SIGTERM to every process (kill(-1)), waits up to grace for
// them to go, then sends SIGKILL. It returns how many there were.
func stopAll(ctx context.Context, procRoot string, grace time.Duration, kill func(int, unix.Signal) error, logger *slog.Logger) (int, error) {
	left := userProcesses(procRoot)
	if len(left) == 0 {
		return 0, nil
	}
	n := len(left)
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGKILL} {
		if err := kill(-1, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return n, fmt.Errorf("signal %s to every process: %w", unix.SignalName(sig), err)
		}
		deadline := time.Now().Add(grace)
		for len(left) > 0 && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return n, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			left = userProcesses(procRoot)
		}
		if len(left) == 0 {
			return n, nil
		}
		logger.Warn("processes still running", "signal", unix.SignalName(sig), "pids", left)
	}
	return n, fmt.Errorf("processes %v did not exit after SIGKILL", left)
}

// userProcesses lists the live processes but PID 1 and kernel threads
// (kthreadd, PID 2, and its children); zombies are left to the reaper.
func userProcesses(procRoot string) []int32 {
	procs, err := procfs.Processes(procRoot)
	if err != nil {
		return nil
	}
	var out []int32
	for _, p := range procs {
		if p.GetPid() == 1 || p.GetPid() == 2 || p.GetPpid() == 2 || p.GetState() == "Z" {
			continue
		}
		out = append(out, p.GetPid())
	}
	return out
}

// unmountUnderVar detaches every mount below <Root>/var, deepest first
// (pod volumes, container root file systems), so the wipe can remove
// their mount points. /var itself stays mounted.
func (m *machined) unmountUnderVar() error {
	points, err := procfs.MountPointsUnder(m.path("/proc"), m.path(constants.VarDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil // no /proc under Root (tests): nothing mounted there
	}
	if err != nil {
		return fmt.Errorf("mounts under %s: %w", m.path(constants.VarDir), err)
	}
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", p, err)
		}
	}
	return nil
}
