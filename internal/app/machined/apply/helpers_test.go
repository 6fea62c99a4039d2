package apply_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/app/machined/apply"
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	bundleOnce sync.Once
	bundle     *secrets.Bundle
)

// machineConfig generates a valid config of machine type typ and lets edit
// change it before it is encoded.
func machineConfig(t *testing.T, typ string, edit func(*v1alpha1.MachineConfig)) []byte {
	t.Helper()
	bundleOnce.Do(func() {
		var err error
		if bundle, err = secrets.NewBundle(); err != nil {
			panic(err)
		}
	})
	in := generate.Input{ClusterName: "demo", Endpoint: "https://10.5.0.2:6443", Secrets: bundle}
	m, err := in.MachineConfig(typ)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	data, err := config.New(m).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func withHostname(name string) func(*v1alpha1.MachineConfig) {
	return func(m *v1alpha1.MachineConfig) {
		m.Machine.Network = &v1alpha1.Network{Hostname: name}
	}
}

func withInstallImage(img string) func(*v1alpha1.MachineConfig) {
	return func(m *v1alpha1.MachineConfig) {
		m.Machine.Install = &v1alpha1.Install{Disk: "/dev/vda", Image: img}
	}
}

// fakeStore records what was saved.
type fakeStore struct {
	mu             sync.Mutex
	config, staged []byte
	fail           error
}

func (s *fakeStore) Save(data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.config = data
	return nil
}

func (s *fakeStore) SaveStaged(data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.staged = data
	return nil
}

// fakeNode records activations.
type fakeNode struct {
	mu        sync.Mutex
	activated [][]byte
}

func (n *fakeNode) Activate(_ context.Context, _ *config.Config, raw []byte) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.activated = append(n.activated, raw)
	return nil
}

func (n *fakeNode) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.activated)
}

// fakeClock collects AfterFunc calls; fire runs the pending ones.
type fakeClock struct {
	mu     sync.Mutex
	timers []*fakeTimer
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool {
	was := !t.stopped
	t.stopped = true
	return was
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) apply.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{d: d, f: f}
	c.timers = append(c.timers, t)
	return t
}

// fire runs every timer that was not stopped, as if its time had come;
// like time.AfterFunc, a stopped-too-late timer's func may still run.
func (c *fakeClock) fire(includeStopped bool) {
	c.mu.Lock()
	timers := c.timers
	c.timers = nil
	c.mu.Unlock()
	for _, t := range timers {
		if !t.stopped || includeStopped {
			t.f()
		}
	}
}

type fixture struct {
	store *fakeStore
	node  *fakeNode
	clock *fakeClock
	a     *apply.Applier
}

func newFixture(active []byte) *fixture {
	f := &fixture{store: &fakeStore{}, node: &fakeNode{}, clock: &fakeClock{}}
	f.a = apply.New(apply.Options{
		Mode: validation.ModeMetal, Store: f.store, Node: f.node, Clock: f.clock,
		Logger: slog.New(slog.DiscardHandler),
	})
	if active == nil {
		f.a.EnterMaintenance()
		return f
	}
	cfg, _, err := apply.Parse(active, validation.ModeMetal)
	if err != nil {
		panic(err)
	}
	f.store.config = active
	f.a.SetActive(cfg, active)
	return f
}

func activeRaw(a *apply.Applier) string {
	_, raw := a.Active()
	return string(raw)
}

func code(err error) string {
	var ae *apply.Error
	if errors.As(err, &ae) {
		return ae.Code.String()
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return "OK"
}
