package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/plinth-os/plinth/internal/supervisor/cgroup"
)

var quiet = slog.New(slog.DiscardHandler)

// helperEnv makes the test binary run a scenario in a fresh process (one
// that becomes a subreaper) instead of the tests.
const helperEnv = "PLINTH_PROCESS_TEST_HELPER"

func TestMain(m *testing.M) {
	if scenario := os.Getenv(helperEnv); scenario != "" {
		if err := runHelper(scenario); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// output is a concurrency-safe buffer that can wait for a substring.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
	ch  chan struct{}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ch != nil {
		close(o.ch)
		o.ch = nil
	}
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor blocks until the output contains s.
func (o *output) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		o.mu.Lock()
		if strings.Contains(o.buf.String(), s) {
			o.mu.Unlock()
			return
		}
		if o.ch == nil {
			o.ch = make(chan struct{})
		}
		ch := o.ch
		o.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("output never contained %q; got %q", s, o.String())
		}
	}
}

func shell(script string) Options {
	return Options{Name: "test", Path: "/bin/sh", Args: []string{"-c", script}, Logger: quiet}
}

func TestRunExitStatusAndOutput(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		wantErr    error
		wantOutput []string
	}{
		{"success", shell("echo hello"), nil, []string{"hello\n"}},
		{"exit code and both streams", shell("echo out; echo err >&2; exit 3"),
			&ExitError{Code: 3}, []string{"out\n", "err\n"}},
		{"killed by signal", shell("kill -USR1 $$"),
			&ExitError{Code: -1, Signal: syscall.SIGUSR1}, nil},
		{"env is exactly the given one", Options{
			Name: "env", Path: "/usr/bin/env", Env: []string{"ONLY=this"}, Logger: quiet,
		}, nil, []string{"ONLY=this\n"}},
		{"working dir", func() Options {
			o := shell("pwd")
			o.Dir = "/tmp"
			return o
		}(), nil, []string{"/tmp\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out output
			startedCalled := false
			err := New(tt.opts).Run(context.Background(), &out, func() { startedCalled = true })
			if fmt.Sprint(err) != fmt.Sprint(tt.wantErr) {
				t.Fatalf("Run error = %v, want %v", err, tt.wantErr)
			}
			if !startedCalled {
				t.Error("started was not called")
			}
			for _, want := range tt.wantOutput {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output %q lacks %q", out.String(), want)
				}
			}
			if tt.name == "env is exactly the given one" && strings.Count(out.String(), "\n") != 1 {
				t.Errorf("environment leaked into the service: %q", out.String())
			}
		})
	}
}

func TestRunStartFailure(t *testing.T) {
	err := New(Options{Name: "x", Path: "/nonexistent/program", Logger: quiet}).
		Run(context.Background(), &output{}, func() { t.Error("started called for a failed start") })
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/program") {
		t.Fatalf("Run = %v, want an error naming the program", err)
	}
}

func TestStopGraceful(t *testing.T) {
	var out output
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(shell("echo ready; exec /bin/sleep 60")).Run(ctx, &out, nil) }()
	out.waitFor(t, "ready")
	cancel()
	err := <-done
	var exitErr *ExitError
	if !errors.As(err, &exitErr) || exitErr.Signal != syscall.SIGTERM {
		t.Fatalf("Run = %v, want killed by SIGTERM", err)
	}
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	var out output
	opts := shell("trap '' TERM; echo ready; while :; do /bin/sleep 1; done")
	opts.GracePeriod = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(opts).Run(ctx, &out, nil) }()
	out.waitFor(t, "ready")
	cancel()
	select {
	case err := <-done:
		var exitErr *ExitError
		if !errors.As(err, &exitErr) || exitErr.Signal != syscall.SIGKILL {
			t.Fatalf("Run = %v, want killed by SIGKILL", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("process ignoring SIGTERM was never killed")
	}
}

func TestLeftoverDescendantsAreKilled(t *testing.T) {
	var out output
	// The background sleep keeps the output pipe open; it must be killed
	// with its process group once the shell exits.
	err := New(shell("/bin/sleep 60 & echo $!")).Run(context.Background(), &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("no pid in %q", out.String())
	}
	deadline := time.Now().Add(20 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("background child %d outlived its service", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs: it exists and is not a zombie waiting for
// whoever inherited it.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func TestDropCapabilities(t *testing.T) {
	if err := unix.Prctl(unix.PR_CAPBSET_READ, unix.CAP_SETPCAP, 0, 0, 0); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root with CAP_SETPCAP to drop capabilities")
	}
	var out output
	opts := shell("grep -E '^Cap(Bnd|Inh|Prm)' /proc/self/status")
	opts.DropCapabilities = []Capability{unix.CAP_SYS_ADMIN, unix.CAP_NET_RAW}
	if err := New(opts).Run(context.Background(), &out, nil); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		name, hexMask, _ := strings.Cut(line, ":")
		mask, err := strconv.ParseUint(strings.TrimSpace(hexMask), 16, 64)
		if err != nil {
			t.Fatalf("parse %q: %v", line, err)
		}
		for _, c := range opts.DropCapabilities {
			if mask&(1<<c) != 0 {
				t.Errorf("%s still holds %s (%s)", name, c, line)
			}
		}
		if name != "CapInh" && mask&(1<<unix.CAP_CHOWN) == 0 {
			t.Errorf("%s lost CAP_CHOWN, which was not dropped (%s)", name, line)
		}
	}
}

func TestParseCapability(t *testing.T) {
	tests := []struct {
		in      string
		want    Capability
		wantErr bool
	}{
		{"CAP_SYS_ADMIN", unix.CAP_SYS_ADMIN, false},
		{"net_raw", unix.CAP_NET_RAW, false},
		{" cap_checkpoint_restore ", unix.CAP_CHECKPOINT_RESTORE, false},
		{"CAP_FLY", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseCapability(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseCapability(%q) = %v, %v", tt.in, got, err)
		}
		if err == nil && got.String() != "CAP_"+strings.ToUpper(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(tt.in)), "cap_")) {
			t.Errorf("String() = %q does not round-trip %q", got, tt.in)
		}
	}
}

func TestCgroupPlacement(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	root := fmt.Sprintf("plinth-proc-test-%d", os.Getpid())
	m := cgroup.NewManager(cgroup.Options{Root: root, Logger: quiet})
	if err := m.Available(); err != nil {
		t.Skipf("cgroup v2 is not writable here: %v", err)
	}
	t.Cleanup(func() { _ = os.Remove(m.Base()) })
	var out output
	opts := shell("cat /proc/self/cgroup")
	opts.Name, opts.Cgroups = "etcd", m
	if err := New(opts).Run(context.Background(), &out, nil); err != nil {
		t.Fatal(err)
	}
	if want := "0::/" + root + "/etcd\n"; !strings.Contains(out.String(), want) {
		t.Fatalf("/proc/self/cgroup = %q, want %q", out.String(), want)
	}
	if _, err := os.Stat(m.Base() + "/etcd"); !os.IsNotExist(err) {
		t.Fatalf("service cgroup not removed after exit: %v", err)
	}
}

func TestReaperScenarios(t *testing.T) {
	for _, scenario := range []string{"reaped-status", "reaped-orphans"} {
		t.Run(scenario, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+scenario, "GORACE=atexit_sleep_ms=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("helper %s: %v\n%s", scenario, err, out)
			}
		})
	}
}

func TestOOMScoreAdj(t *testing.T) {
	if _, err := os.Stat("/proc/self/oom_score_adj"); err != nil {
		t.Skip("no /proc/self/oom_score_adj")
	}
	out := &output{}
	r := New(Options{Name: "oom", Path: "/bin/sh", Args: []string{"-c", "sleep 0.5; cat /proc/$$/oom_score_adj"},
		OOMScoreAdj: 321, Logger: quiet})
	if err := r.Run(context.Background(), out, nil); err != nil {
		t.Fatalf("run: %v (output %q)", err, out.String())
	}
	if got := strings.TrimSpace(out.String()); got != "321" {
		t.Fatalf("oom_score_adj = %q, want 321", got)
	}
}
