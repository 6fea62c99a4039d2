package engine_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/runtime/engine"
	"github.com/plinth-os/plinth/internal/runtime/inmem"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	ns        = "test"
	inputT    = "Configs.test.plinth.dev"
	middleT   = "Middles.test.plinth.dev"
	finalT    = "Finals.test.plinth.dev"
	timeout   = 10 * time.Second
	pollEvery = 2 * time.Millisecond
)

type valueSpec struct {
	Value int `json:"value"`
}

type value = resource.Typed[valueSpec]

func newValue(typ, id string, v int) *value {
	return resource.NewTyped(ns, typ, id, valueSpec{Value: v})
}

// funcController runs reconcile on every trigger.
type funcController struct {
	name      string
	inputs    []runtime.Input
	outputs   []runtime.Output
	reconcile func(ctx context.Context, r runtime.ControllerRuntime) error
}

func (c *funcController) Name() string              { return c.name }
func (c *funcController) Inputs() []runtime.Input   { return c.inputs }
func (c *funcController) Outputs() []runtime.Output { return c.outputs }

func (c *funcController) Run(ctx context.Context, r runtime.ControllerRuntime, _ *slog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		}

		if err := c.reconcile(ctx, r); err != nil {
			return err
		}
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.String()
}

// harness runs an engine over a fresh state for one test.
type harness struct {
	st   *inmem.State
	eng  *engine.Engine
	logs *syncBuffer
	done chan error
}

func newHarness(t *testing.T, opts engine.Options) *harness {
	t.Helper()

	logs := &syncBuffer{}
	st := inmem.New()

	return &harness{
		st:   st,
		eng:  engine.New(st, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), opts),
		logs: logs,
	}
}

// start runs the engine until the test ends, then checks Run returned.
func (h *harness) start(t *testing.T) {
	t.Helper()

	ctx, cancel := context.WithCancel(context.Background())
	h.done = make(chan error, 1)

	go func() { h.done <- h.eng.Run(ctx) }()

	t.Cleanup(func() {
		cancel()

		select {
		case err := <-h.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(timeout):
			t.Error("Run did not return after cancel")
		}
	})
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()

	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}

		time.Sleep(pollEvery)
	}
}

// valueOf returns a resource's value, or -1 when it does not exist.
func (h *harness) valueOf(typ, id string) int {
	r, err := h.st.Get(context.Background(), resource.Ref{Namespace: ns, Type: typ, ID: id})
	if errors.Is(err, runtime.ErrNotFound) {
		return -1
	}

	if err != nil {
		panic(err)
	}

	return r.(*value).TypedSpec().Value
}

func (h *harness) count(typ string) int {
	items, err := h.st.List(context.Background(), ns, typ)
	if err != nil {
		panic(err)
	}

	return len(items)
}
