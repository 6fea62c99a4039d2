package supervisor_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/supervisor"
)

func TestDependentWaitsForHealthyDependency(t *testing.T) {
	s, rec := newSupervisor(t, supervisor.RestartSettings{})
	etcd := &checkedService{fakeService: fakeService{id: "etcd"}}
	api := &fakeService{id: "apiserver", deps: []string{"etcd"}}
	if err := s.Load(api, etcd); err != nil {
		t.Fatal(err)
	}
	if err := s.Launch("apiserver"); err != nil {
		t.Fatal(err)
	}
	rec.waitState(t, "etcd", supervisor.Running, 1)
	rec.waitFor(t, "etcd to be checked unhealthy", func(evs []supervisor.ServiceEvent) bool {
		return index(evs, func(e supervisor.ServiceEvent) bool {
			return e.ID == "etcd" && e.Health.Status == supervisor.Unhealthy
		}) >= 0
	})
	rec.waitFor(t, "apiserver to wait for etcd", func(evs []supervisor.ServiceEvent) bool {
		return index(evs, func(e supervisor.ServiceEvent) bool {
			return e.ID == "apiserver" && e.Message == "waiting for dependencies: etcd"
		}) >= 0
	})
	if n := count(rec.snapshot(), "apiserver", supervisor.Preparing); n != 0 {
		t.Fatal("apiserver started preparing while etcd was unhealthy")
	}

	etcd.healthy.Store(true)
	if err := s.Wait(timeout(t), "apiserver"); err != nil {
		t.Fatal(err)
	}
	evs := rec.snapshot()
	healthy := index(evs, func(e supervisor.ServiceEvent) bool {
		return e.ID == "etcd" && e.Health.Status == supervisor.Healthy
	})
	running := index(evs, func(e supervisor.ServiceEvent) bool {
		return e.ID == "apiserver" && e.State == supervisor.Running
	})
	if healthy < 0 || running < healthy {
		t.Fatalf("apiserver ran (event %d) before etcd was healthy (event %d):\n%s", running, healthy, formatEvents(evs))
	}
}

func TestStopIsReverseDependencyOrder(t *testing.T) {
	s, rec := newSupervisor(t, supervisor.RestartSettings{})
	err := s.Load(
		&fakeService{id: "containerd"},
		&fakeService{id: "etcd", deps: []string{"containerd"}},
		&fakeService{id: "apiserver", deps: []string{"etcd"}},
		&fakeService{id: "kubelet", deps: []string{"containerd"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(timeout(t), "apiserver", "kubelet"); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(timeout(t), "etcd"); err != nil {
		t.Fatal(err)
	}
	evs := rec.snapshot()
	stoppedAt := func(id string) int {
		return index(evs, func(e supervisor.ServiceEvent) bool { return e.ID == id && e.State == supervisor.Stopped })
	}
	stoppingAt := func(id string) int {
		return index(evs, func(e supervisor.ServiceEvent) bool { return e.ID == id && e.State == supervisor.Stopping })
	}
	if stoppedAt("apiserver") < 0 || stoppingAt("etcd") < stoppedAt("apiserver") {
		t.Fatalf("etcd began stopping before its dependent apiserver had stopped:\n%s", formatEvents(evs))
	}
	if stoppingAt("containerd") >= 0 || stoppingAt("kubelet") >= 0 {
		t.Fatalf("Stop(etcd) stopped services that do not depend on etcd:\n%s", formatEvents(evs))
	}

	if err := s.StopAll(timeout(t)); err != nil {
		t.Fatal(err)
	}
	evs = rec.snapshot()
	if stoppingAt("containerd") < stoppedAt("kubelet") {
		t.Fatalf("containerd began stopping before kubelet had stopped:\n%s", formatEvents(evs))
	}
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name    string
		svcs    []supervisor.Service
		start   string
		wantErr string
	}{
		{"unknown service", nil, "ghost", `unknown service "ghost"`},
		{"unknown dependency",
			[]supervisor.Service{&fakeService{id: "kubelet", deps: []string{"containerd"}}},
			"kubelet", `service "kubelet" depends on unknown service "containerd"`},
		{"cycle",
			[]supervisor.Service{
				&fakeService{id: "a", deps: []string{"b"}},
				&fakeService{id: "b", deps: []string{"a"}},
			},
			"a", "dependency cycle: a -> b -> a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec := newSupervisor(t, supervisor.RestartSettings{})
			if err := s.Load(tt.svcs...); err != nil {
				t.Fatal(err)
			}
			loaded := len(rec.snapshot())
			if loaded != len(tt.svcs) {
				t.Fatalf("Load reported %d events for %d services", loaded, len(tt.svcs))
			}
			err := s.Start(timeout(t), tt.start)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Start = %v, want an error containing %q", err, tt.wantErr)
			}
			if evs := rec.snapshot(); len(evs) != loaded {
				t.Fatalf("a failed Start changed services:\n%s", formatEvents(evs))
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	s, _ := newSupervisor(t, supervisor.RestartSettings{})
	if err := s.Load(&fakeService{id: "etcd"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(timeout(t), "etcd"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		svcs    []supervisor.Service
		wantErr string
	}{
		{"invalid id", []supervisor.Service{&fakeService{id: "../etc"}}, "invalid service ID"},
		{"duplicate", []supervisor.Service{&fakeService{id: "x"}, &fakeService{id: "x"}}, "given twice"},
		{"replaces started", []supervisor.Service{&fakeService{id: "etcd"}}, "is started"},
	}
	for _, tt := range tests {
		if err := s.Load(tt.svcs...); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: Load = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	if got := len(s.List()); got != 1 {
		t.Errorf("failed loads left %d services, want 1", got)
	}
}

func TestSkippedByCondition(t *testing.T) {
	s, rec := newSupervisor(t, supervisor.RestartSettings{})
	skip := supervisor.WaitForFunc("a disk to install to", func(context.Context) (bool, error) {
		return false, supervisor.ErrSkip
	})
	if err := s.Load(&fakeService{id: "installer", cond: skip}); err != nil {
		t.Fatal(err)
	}
	err := s.Start(timeout(t), "installer")
	if err == nil || !strings.Contains(err.Error(), "Skipped") {
		t.Fatalf("Start = %v, want an error saying it was Skipped", err)
	}
	if got := states(rec.snapshot(), "installer"); !slices.Equal(got, []supervisor.State{supervisor.Initialized, supervisor.Waiting, supervisor.Skipped}) {
		t.Fatalf("states = %v", got)
	}
}

func TestStopWhileWaitingForDependency(t *testing.T) {
	s, rec := newSupervisor(t, supervisor.RestartSettings{})
	never := &checkedService{fakeService: fakeService{id: "etcd"}}
	if err := s.Load(never, &fakeService{id: "apiserver", deps: []string{"etcd"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Launch("apiserver"); err != nil {
		t.Fatal(err)
	}
	rec.waitState(t, "etcd", supervisor.Running, 1)
	if err := s.Stop(timeout(t), "etcd"); err != nil {
		t.Fatal(err)
	}
	want := []supervisor.State{supervisor.Initialized, supervisor.Waiting, supervisor.Stopping, supervisor.Stopped}
	if got := states(rec.snapshot(), "apiserver"); !slices.Equal(got, want) {
		t.Fatalf("apiserver states = %v, want %v", got, want)
	}
}

func TestRestartRestartsDependents(t *testing.T) {
	s, rec := newSupervisor(t, supervisor.RestartSettings{})
	if err := s.Load(&fakeService{id: "etcd"}, &fakeService{id: "apiserver", deps: []string{"etcd"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(timeout(t), "apiserver"); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(timeout(t), "etcd"); err != nil {
		t.Fatal(err)
	}
	evs := rec.snapshot()
	for _, id := range []string{"etcd", "apiserver"} {
		if count(evs, id, supervisor.Stopped) != 1 || count(evs, id, supervisor.Running) != 2 {
			t.Fatalf("%s was not stopped and started again:\n%s", id, formatEvents(evs))
		}
	}
}

func TestGoroutineRunnerFailures(t *testing.T) {
	never := supervisor.RestartSettings{Policy: supervisor.RestartNever}
	t.Run("panic fails the service", func(t *testing.T) {
		s, rec := newSupervisor(t, never)
		svc := &fakeService{id: "apid", runner: func() (supervisor.Runner, error) {
			return &supervisor.GoroutineRunner{Func: func(context.Context, io.Writer) error { panic("oops") }}, nil
		}}
		if err := s.Load(svc); err != nil {
			t.Fatal(err)
		}
		if err := s.Launch("apid"); err != nil {
			t.Fatal(err)
		}
		rec.waitState(t, "apid", supervisor.Failed, 1)
		if info := s.List()[0]; info.State != supervisor.Failed || !strings.Contains(info.Message, "panic: oops") {
			t.Fatalf("apid is %s %q, want Failed with the panic", info.State, info.Message)
		}
		logs, _ := s.Logs("apid")
		if !strings.Contains(string(logs.Tail(-1)), "panic: oops") {
			t.Fatalf("the panic was not logged: %q", logs.Tail(-1))
		}
	})
	t.Run("stuck goroutine is reported on stop", func(t *testing.T) {
		s, rec := newSupervisor(t, never)
		release := make(chan struct{})
		defer close(release)
		svc := &fakeService{id: "trustd", runner: func() (supervisor.Runner, error) {
			return &supervisor.GoroutineRunner{
				GracePeriod: 10 * time.Millisecond,
				Func: func(context.Context, io.Writer) error {
					<-release // ignores ctx
					return nil
				},
			}, nil
		}}
		if err := s.Load(svc); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(timeout(t), "trustd"); err != nil {
			t.Fatal(err)
		}
		if err := s.Stop(timeout(t), "trustd"); err != nil {
			t.Fatal(err)
		}
		evs := rec.snapshot()
		last := evs[len(evs)-1]
		if last.State != supervisor.Stopped || !strings.Contains(last.Message, supervisor.ErrStuck.Error()) {
			t.Fatalf("last event %+v, want Stopped mentioning the stuck goroutine", last)
		}
	})
}

func TestWaitErrors(t *testing.T) {
	s, _ := newSupervisor(t, supervisor.RestartSettings{})
	if err := s.Load(&fakeService{id: "idle"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(timeout(t), "idle"); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("Wait on an unstarted service = %v", err)
	}
	if err := s.Wait(timeout(t), "ghost"); err == nil {
		t.Error("Wait on an unknown service succeeded")
	}
	if _, err := s.Logs("ghost"); err == nil {
		t.Error("Logs of an unknown service succeeded")
	}
	cond := supervisor.WaitForFunc("forever", func(context.Context) (bool, error) { return false, nil })
	rec := &recorder{}
	s = supervisor.New(supervisor.Options{Logger: quiet, Observer: rec})
	defer s.StopAll(timeout(t))
	if err := s.Load(&fakeService{id: "blocked", cond: cond}); err != nil {
		t.Fatal(err)
	}
	if err := s.Launch("blocked"); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "the condition wait", func(evs []supervisor.ServiceEvent) bool {
		return index(evs, func(e supervisor.ServiceEvent) bool { return e.Message == "waiting for forever" }) >= 0
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Wait(ctx, "blocked")
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for forever") {
		t.Errorf("Wait with a done context = %v, want it to say what blocks", err)
	}
}
