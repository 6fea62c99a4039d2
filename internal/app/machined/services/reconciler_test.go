package services_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/app/machined/services"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/runtime/engine"
	"github.com/plinth-os/plinth/internal/runtime/inmem"
	"github.com/plinth-os/plinth/internal/supervisor"
	resfiles "github.com/plinth-os/plinth/pkg/machinery/resources/files"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// helperEnv makes the test binary a helper program (see runHelper).
const helperEnv = "PLINTH_SERVICES_HELPER"

// runHelper is the test binary run as a service: it appends its
// environment (one line per start) to the file in $HELPER_LOG, exits
// with status len($HELPER_EXIT) when set, serves HTTP on $HELPER_HTTP
// when set, and runs until killed.
func runHelper() {
	if f := os.Getenv("HELPER_LOG"); f != "" {
		env := slices.Clone(os.Environ())
		slices.Sort(env)
		line := strings.Join(append(env, "ARGS="+strings.Join(os.Args[1:], ",")), " ") + "\n"
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, _ = fh.WriteString(line)
			_ = fh.Close()
		}
	}
	if code := os.Getenv("HELPER_EXIT"); code != "" {
		os.Exit(len(code))
	}
	if addr := os.Getenv("HELPER_HTTP"); addr != "" {
		_ = http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { //nolint:gosec // test helper
			fmt.Fprintln(w, "ok")
		}))
	}
	select {}
}

const waitFor = 30 * time.Second

// env is a running reconciler over in-memory state and a real supervisor.
type env struct {
	st   *inmem.State
	sup  *supervisor.Supervisor
	root string
	dir  string // scratch files (logs of the helper)
}

func start(t *testing.T, configure func(*services.ConfigReconciler)) *env {
	t.Helper()
	root := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(root, "bin", "helper")); err != nil {
		t.Fatal(err)
	}
	e := &env{st: inmem.New(), root: root, dir: t.TempDir()}
	quiet := slog.New(slog.DiscardHandler)
	e.sup = supervisor.New(supervisor.Options{Logger: quiet, Restart: supervisor.RestartSettings{InitialBackoff: 10 * time.Millisecond}})
	rec := &services.ConfigReconciler{Supervisor: e.sup, Options: services.RunOptions{Root: root, Logger: quiet}}
	if configure != nil {
		configure(rec)
	}
	eng := engine.New(e.st, quiet, engine.Options{BackoffInitial: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err := eng.Register(rec); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine: %v", err)
		}
		sctx, scancel := context.WithTimeout(context.Background(), waitFor)
		defer scancel()
		if err := e.sup.StopAll(sctx); err != nil {
			t.Errorf("stop all: %v", err)
		}
	})
	return e
}

// helper returns a spec running the helper, logging to log (under e.dir).
func (e *env) helper(log string, extraEnv ...string) rtres.ServiceConfigSpec {
	return rtres.ServiceConfigSpec{
		Args: []string{"/bin/helper", "x"},
		Env:  append([]string{helperEnv + "=1", "HELPER_LOG=" + filepath.Join(e.dir, log)}, extraEnv...),
	}
}

func (e *env) put(t *testing.T, id string, spec rtres.ServiceConfigSpec) {
	t.Helper()
	err := runtime.ModifyTyped(context.Background(), e.st, rtres.NewServiceConfig(id), func(r *rtres.ServiceConfig) error {
		*r.TypedSpec() = spec
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) destroy(t *testing.T, id string) {
	t.Helper()
	if err := e.st.Destroy(context.Background(), rtres.NewServiceConfig(id).Metadata().Ref()); err != nil {
		t.Fatal(err)
	}
}

func (e *env) state(id string) supervisor.State {
	for _, info := range e.sup.List() {
		if info.ID == id {
			return info.State
		}
	}
	return -1
}

// starts returns the lines the helper logged, one per start.
func (e *env) starts(log string) []string {
	data, _ := os.ReadFile(filepath.Join(e.dir, log))
	var lines []string
	for l := range strings.SplitSeq(string(data), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReconcilerStartsRestartsAndStops(t *testing.T) {
	e := start(t, nil)
	err := runtime.ModifyTyped(context.Background(), e.st, resfiles.NewEnvironment(), func(r *resfiles.Environment) error {
		r.TypedSpec().Variables = map[string]string{"MACHINE_VAR": "m", "SHARED": "machine"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.put(t, "one", e.helper("one.log", "SHARED=spec"))
	eventually(t, "one running", func() bool { return e.state("one") == supervisor.Running && len(e.starts("one.log")) == 1 })
	line := e.starts("one.log")[0]
	for _, want := range []string{"MACHINE_VAR=m", "SHARED=spec", "ARGS=x"} {
		if !strings.Contains(line, want) {
			t.Fatalf("environment %q lacks %s", line, want)
		}
	}
	if strings.Contains(line, "SHARED=machine") {
		t.Fatalf("spec variable did not win: %q", line)
	}

	// A new ConfigHash restarts it; an identical write does not.
	spec := e.helper("one.log", "SHARED=spec")
	spec.ConfigHash = "h2"
	e.put(t, "one", spec)
	eventually(t, "one restarted", func() bool { return len(e.starts("one.log")) == 2 && e.state("one") == supervisor.Running })
	e.put(t, "one", spec)

	// So does a change of the machine environment.
	err = runtime.ModifyTyped(context.Background(), e.st, resfiles.NewEnvironment(), func(r *resfiles.Environment) error {
		r.TypedSpec().Variables = map[string]string{"MACHINE_VAR": "m2"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "one restarted with the new environment", func() bool {
		s := e.starts("one.log")
		return len(s) == 3 && strings.Contains(s[2], "MACHINE_VAR=m2")
	})

	e.destroy(t, "one")
	eventually(t, "one stopped", func() bool { return e.state("one") == supervisor.Stopped })
	if n := len(e.starts("one.log")); n != 3 {
		t.Fatalf("%d starts, want 3", n)
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestReconcilerDependenciesAndHealth(t *testing.T) {
	e := start(t, nil)
	addr := freeAddr(t)

	// The dependent comes first: it waits, loaded, for its dependency.
	dep := e.helper("b.log")
	dep.DependsOn = []string{"a"}
	dep.WaitFiles = []string{"/ready"}
	e.put(t, "b", dep)
	eventually(t, "b loaded", func() bool { return e.state("b") == supervisor.Initialized })

	a := e.helper("a.log", "HELPER_HTTP="+addr)
	a.HealthCheck = &rtres.HealthCheck{URL: "http://" + addr + "/healthz", IntervalSeconds: 1}
	e.put(t, "a", a)
	eventually(t, "a healthy", func() bool {
		for _, info := range e.sup.List() {
			if info.ID == "a" {
				return info.State == supervisor.Running && info.Health.Status == supervisor.Healthy
			}
		}
		return false
	})
	// b waits for its file, joined to the root.
	eventually(t, "b waiting", func() bool { return e.state("b") == supervisor.Waiting })
	if err := os.WriteFile(filepath.Join(e.root, "ready"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b running", func() bool { return e.state("b") == supervisor.Running && len(e.starts("b.log")) == 1 })

	// Changing a restarts b too.
	a.ConfigHash = "2"
	e.put(t, "a", a)
	eventually(t, "a and b restarted", func() bool {
		return len(e.starts("a.log")) == 2 && len(e.starts("b.log")) == 2 && e.state("b") == supervisor.Running
	})

	// Without a, b stays stopped; with a back, both run again.
	e.destroy(t, "a")
	eventually(t, "a and b stopped", func() bool {
		return e.state("a") == supervisor.Stopped && e.state("b") == supervisor.Stopped
	})
	e.put(t, "a", a)
	eventually(t, "a and b running again", func() bool {
		return e.state("b") == supervisor.Running && len(e.starts("b.log")) == 3
	})
}

func TestReconcilerTCPHealthAndRestartPolicy(t *testing.T) {
	e := start(t, nil)
	addr := freeAddr(t)
	spec := e.helper("tcp.log")
	spec.HealthCheck = &rtres.HealthCheck{TCP: addr, IntervalSeconds: 1}
	e.put(t, "tcp", spec)
	eventually(t, "tcp unhealthy", func() bool {
		for _, info := range e.sup.List() {
			if info.ID == "tcp" {
				return info.Health.Status == supervisor.Unhealthy
			}
		}
		return false
	})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("address taken meanwhile: %v", err)
	}
	defer l.Close()
	eventually(t, "tcp healthy", func() bool {
		for _, info := range e.sup.List() {
			if info.ID == "tcp" {
				return info.Health.Status == supervisor.Healthy
			}
		}
		return false
	})

	// A Unix socket, joined to the root.
	sock := e.helper("sock.log")
	sock.HealthCheck = &rtres.HealthCheck{Socket: "/s.sock", IntervalSeconds: 1}
	e.put(t, "sock", sock)
	ul, err := net.Listen("unix", filepath.Join(e.root, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	eventually(t, "sock healthy", func() bool {
		for _, info := range e.sup.List() {
			if info.ID == "sock" {
				return info.Health.Status == supervisor.Healthy
			}
		}
		return false
	})

	// A program that exits with restart never stays Finished.
	e.put(t, "once", rtres.ServiceConfigSpec{Args: []string{"/bin/helper"}, Env: []string{helperEnv + "=1", "HELPER_EXIT=x"}, Restart: "never"})
	eventually(t, "once failed for good", func() bool { return e.state("once") == supervisor.Failed })
}

func TestReconcilerRefusesMachinedServices(t *testing.T) {
	e := start(t, nil)
	if err := e.sup.Load(&fixed{id: services.APID}); err != nil {
		t.Fatal(err)
	}
	e.put(t, services.APID, rtres.ServiceConfigSpec{Args: []string{"/bin/helper"}})
	time.Sleep(200 * time.Millisecond)
	if got := e.state(services.APID); got != supervisor.Initialized {
		t.Fatalf("apid state = %s", got)
	}
}

func TestReconcilerInactiveDoesNotStart(t *testing.T) {
	e := start(t, func(r *services.ConfigReconciler) { r.Active = func() bool { return false } })
	e.put(t, "idle", e.helper("idle.log"))
	eventually(t, "idle loaded", func() bool { return e.state("idle") == supervisor.Initialized })
	time.Sleep(200 * time.Millisecond)
	if got := e.state("idle"); got != supervisor.Initialized {
		t.Fatalf("state = %s", got)
	}
}

// fixed is a service the reconciler does not own.
type fixed struct{ id string }

func (f *fixed) ID() string                      { return f.id }
func (f *fixed) DependsOn() []string             { return nil }
func (f *fixed) Condition() supervisor.Condition { return nil }
func (f *fixed) Runner() (supervisor.Runner, error) {
	return nil, errors.New("not runnable")
}

func TestReconcilerSkipsMissingProgram(t *testing.T) {
	e := start(t, nil)
	e.put(t, "absent", rtres.ServiceConfigSpec{Args: []string{"/usr/bin/absent"}})
	eventually(t, "absent skipped", func() bool { return e.state("absent") == supervisor.Skipped })
}
