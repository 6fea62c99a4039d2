package supervisor_test

import (
	"bufio"
	"context"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/supervisor"
	"github.com/plinth-os/plinth/internal/supervisor/process"
)

// shellService runs a /bin/sh script as a real child process.
func shellService(id, script string, deps ...string) *fakeService {
	return &fakeService{id: id, deps: deps, runner: func() (supervisor.Runner, error) {
		return process.New(process.Options{
			Name: id, Path: "/bin/sh", Args: []string{"-c", script},
			GracePeriod: 200 * time.Millisecond, Logger: quiet,
		}), nil
	}}
}

var fastRestart = supervisor.RestartSettings{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}

func TestKilledServiceIsRestartedWithBackoff(t *testing.T) {
	s, rec := newSupervisor(t, fastRestart)
	if err := s.Load(shellService("etcd", "echo pid $$; exec /bin/sleep 60")); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(timeout(t), "etcd"); err != nil {
		t.Fatal(err)
	}
	log, _ := s.Logs("etcd")
	pid := readPID(t, log.Follow(timeout(t), -1))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rec.waitState(t, "etcd", supervisor.Running, 2)

	want := []supervisor.State{
		supervisor.Initialized, supervisor.Waiting, supervisor.Preparing, supervisor.Running,
		supervisor.Failed, supervisor.Restarting,
		supervisor.Waiting, supervisor.Preparing, supervisor.Running,
	}
	evs := rec.snapshot()
	if got := states(evs, "etcd"); !slices.Equal(got, want) {
		t.Fatalf("states = %v, want %v", got, want)
	}
	failed := evs[index(evs, func(e supervisor.ServiceEvent) bool { return e.State == supervisor.Failed })]
	restarting := evs[index(evs, func(e supervisor.ServiceEvent) bool { return e.State == supervisor.Restarting })]
	if failed.Message != "killed by signal: killed" || restarting.Message != "restarting in 10ms" {
		t.Fatalf("failure %q then %q, want the signal and the first backoff", failed.Message, restarting.Message)
	}
}

// readPID reads the "pid N" line a test service prints.
func readPID(t *testing.T, r interface{ Read([]byte) (int, error) }) int {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
			pid, err := strconv.Atoi(rest)
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatal("service never printed its pid")
	return 0
}

func TestNeverPolicy(t *testing.T) {
	tests := []struct {
		name, script string
		state        supervisor.State
		message      string
	}{
		{"success stays Finished", "exit 0", supervisor.Finished, "exited successfully"},
		{"failure stays Failed", "exit 4", supervisor.Failed, "exit status 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec := newSupervisor(t, supervisor.RestartSettings{Policy: supervisor.RestartNever})
			if err := s.Load(shellService("oneshot", tt.script)); err != nil {
				t.Fatal(err)
			}
			if err := s.Launch("oneshot"); err != nil {
				t.Fatal(err)
			}
			rec.waitState(t, "oneshot", tt.state, 1)
			// Wait reports a Finished or Failed service only once its run
			// loop has ended, so no restart can follow.
			err := s.Wait(timeout(t), "oneshot")
			if (err == nil) != (tt.state == supervisor.Finished) {
				t.Fatalf("Wait = %v", err)
			}
			info := s.List()[0]
			if info.State != tt.state || info.Message != tt.message {
				t.Fatalf("service is %s %q, want %s %q", info.State, info.Message, tt.state, tt.message)
			}
			if n := count(rec.snapshot(), "oneshot", supervisor.Restarting); n != 0 {
				t.Fatalf("restarted %d times under the never policy", n)
			}
		})
	}
}

func TestOnFailurePolicyRestartsOnlyFailures(t *testing.T) {
	s, rec := newSupervisor(t, supervisor.RestartSettings{})
	onFailure := supervisor.RestartSettings{Policy: supervisor.RestartOnFailure, InitialBackoff: 10 * time.Millisecond}
	// Fails on the first run, succeeds on the second: a marker file
	// remembers the first run.
	marker := t.TempDir() + "/ran"
	svc := restartingService{
		Service:  shellService("flaky", "if [ -e "+marker+" ]; then exit 0; fi; touch "+marker+"; exit 1"),
		settings: onFailure,
	}
	if err := s.Load(svc); err != nil {
		t.Fatal(err)
	}
	if err := s.Launch("flaky"); err != nil {
		t.Fatal(err)
	}
	rec.waitState(t, "flaky", supervisor.Finished, 1)
	if err := s.Wait(timeout(t), "flaky"); err != nil {
		t.Fatal(err)
	}
	evs := rec.snapshot()
	if count(evs, "flaky", supervisor.Failed) != 1 || count(evs, "flaky", supervisor.Restarting) != 1 {
		t.Fatalf("want one failure, one restart, then Finished for good:\n%s", formatEvents(evs))
	}
}

func TestLogsCapturedTailedAndFollowed(t *testing.T) {
	s, _ := newSupervisor(t, supervisor.RestartSettings{})
	script := "echo one; echo two >&2; echo three; exec /bin/sleep 60"
	if err := s.Load(shellService("kubelet", script)); err != nil {
		t.Fatal(err)
	}
	log, err := s.Logs("kubelet")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(timeout(t))
	follower := bufio.NewScanner(log.Follow(ctx, 0))
	if err := s.Start(timeout(t), "kubelet"); err != nil {
		t.Fatal(err)
	}
	var followed []string
	for len(followed) < 3 && follower.Scan() {
		followed = append(followed, follower.Text())
	}
	if want := []string{"one", "two", "three"}; !slices.Equal(followed, want) {
		t.Fatalf("followed %q, want %q", followed, want)
	}
	if got := string(log.Tail(2)); got != "two\nthree\n" {
		t.Fatalf("Tail(2) = %q", got)
	}
	cancel()
	if follower.Scan() {
		t.Fatalf("follower went on after cancel: %q", follower.Text())
	}
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	s, rec := newSupervisor(t, supervisor.RestartSettings{})
	script := "trap '' TERM; echo pid $$; while :; do /bin/sleep 1; done"
	if err := s.Load(shellService("stubborn", script)); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(timeout(t), "stubborn"); err != nil {
		t.Fatal(err)
	}
	log, _ := s.Logs("stubborn")
	readPID(t, log.Follow(timeout(t), -1)) // the trap is set
	if err := s.Stop(timeout(t), "stubborn"); err != nil {
		t.Fatal(err)
	}
	evs := rec.snapshot()
	if last := evs[len(evs)-1]; last.State != supervisor.Stopped || last.Message != "stopped: killed by signal: killed" {
		t.Fatalf("last event %s %q, want Stopped after SIGKILL", last.State, last.Message)
	}
}
