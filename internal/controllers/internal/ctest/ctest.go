// Package ctest helps test controllers: a harness that runs them on
// in-memory state with the real engine, polling helpers, a fake clock and
// machine configs made in code.
package ctest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/runtime/engine"
	"github.com/plinth-os/plinth/internal/runtime/inmem"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// Timeout bounds every wait of the helpers: generous, never a timing
// assertion.
const Timeout = 20 * time.Second

const pollEvery = 5 * time.Millisecond

// Harness runs controllers over a fresh in-memory state.
type Harness struct {
	// State is the state the controllers run on; tests write inputs to it.
	State *inmem.State
	// Logs collects the engine's and the controllers' logs.
	Logs *SyncBuffer
	eng  *engine.Engine
	done chan error
}

// New returns a harness with the given controllers registered.
func New(t *testing.T, controllers ...runtime.Controller) *Harness {
	t.Helper()

	logs := &SyncBuffer{}
	st := inmem.New()
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng := engine.New(st, logger, engine.Options{BackoffInitial: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond})

	for _, c := range controllers {
		if err := eng.Register(c); err != nil {
			t.Fatal(err)
		}
	}

	return &Harness{State: st, Logs: logs, eng: eng}
}

// Start runs the engine until the test ends; the cleanup waits for it.
func (h *Harness) Start(t *testing.T) {
	t.Helper()

	ctx, cancel := context.WithCancel(context.Background())
	h.Run(ctx, t)

	t.Cleanup(func() {
		cancel()
		h.Wait(t)
	})
}

// Run runs the engine until ctx is cancelled; Wait waits for it then.
func (h *Harness) Run(ctx context.Context, t *testing.T) {
	t.Helper()

	h.done = make(chan error, 1)

	go func() { h.done <- h.eng.Run(ctx) }()
}

// Wait waits for the engine started by Run to return, and prints the logs
// if the test failed.
func (h *Harness) Wait(t *testing.T) {
	t.Helper()

	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("engine Run: %v", err)
		}
	case <-time.After(Timeout):
		t.Error("engine did not stop")
	}

	if t.Failed() {
		t.Logf("logs:\n%s", h.Logs.String())
	}
}

// Eventually polls cond until it holds, failing the test after Timeout.
func Eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()

	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}

		time.Sleep(pollEvery)
	}
}

// Get returns a typed resource, or nil when it does not exist.
func Get[S any](t *testing.T, st runtime.Reader, namespace, typ, id string) *resource.Typed[S] {
	t.Helper()

	r, err := st.Get(context.Background(), resource.Ref{Namespace: namespace, Type: typ, ID: id})
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}

	if err != nil {
		t.Fatal(err)
	}

	typed, ok := r.(*resource.Typed[S])
	if !ok {
		t.Fatalf("%s/%s/%s is %T", namespace, typ, id, r)
	}

	return typed
}

// SyncBuffer is a log sink safe for concurrent writes.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.Write(p)
}

// String returns what was written.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.String()
}

// Clock is a fake clock tests move by hand.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at now.
func NewClock(now time.Time) *Clock {
	return &Clock{now: now}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.now = c.now.Add(d)
}
