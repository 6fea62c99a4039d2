package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/runtime/engine"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// doubler writes middle = 2 × config for every config.
func doubler(name string) *funcController {
	return &funcController{
		name: name,
		inputs: []runtime.Input{
			{Namespace: ns, Type: inputT},
			{Namespace: ns, Type: middleT, Kind: runtime.InputDestroyReady},
		},
		outputs: []runtime.Output{{Type: middleT}},
		reconcile: func(ctx context.Context, r runtime.ControllerRuntime) error {
			return mapValues(ctx, r, inputT, middleT, func(v int) int { return 2 * v })
		},
	}
}

// mapValues makes one output per input of type from, valued f(input).
func mapValues(ctx context.Context, r runtime.ControllerRuntime, from, to string, f func(int) int) error {
	items, err := r.List(ctx, ns, from)
	if err != nil {
		return err
	}

	tr := runtime.NewOutputTracker(r, ns, to)

	for _, in := range items {
		v := f(in.(*value).TypedSpec().Value)

		err := tr.Modify(ctx, newValue(to, in.Metadata().ID, 0), func(out resource.Resource) error {
			out.(*value).TypedSpec().Value = v

			return nil
		})
		if err != nil {
			return err
		}
	}

	return tr.Cleanup(ctx)
}

func TestControllerTriggeredByInput(t *testing.T) {
	ctx := t.Context()
	h := newHarness(t, engine.Options{})

	if err := h.eng.Register(doubler("test.Doubler")); err != nil {
		t.Fatal(err)
	}

	h.start(t)

	if err := h.st.Create(ctx, newValue(inputT, "a", 1)); err != nil {
		t.Fatal(err)
	}

	eventually(t, "middle a = 2", func() bool { return h.valueOf(middleT, "a") == 2 })

	err := runtime.ModifyTyped(ctx, h.st, newValue(inputT, "a", 0), func(v *value) error {
		v.TypedSpec().Value = 21

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	eventually(t, "middle a = 42", func() bool { return h.valueOf(middleT, "a") == 42 })

	mid, err := h.st.Get(ctx, resource.Ref{Namespace: ns, Type: middleT, ID: "a"})
	if err != nil {
		t.Fatal(err)
	}

	if mid.Metadata().Owner != "test.Doubler" {
		t.Fatalf("output owner %q, want the controller", mid.Metadata().Owner)
	}

	mid.(*value).TypedSpec().Value = 0
	if err := h.st.Update(ctx, mid); !errors.Is(err, runtime.ErrOwnerConflict) {
		t.Fatalf("user update of a controller's output: %v", err)
	}

	if err := h.st.Destroy(ctx, resource.Ref{Namespace: ns, Type: inputT, ID: "a"}); err != nil {
		t.Fatal(err)
	}

	eventually(t, "middle a destroyed", func() bool { return h.valueOf(middleT, "a") == -1 })
}

func TestControllerSeesExistingStateOnStart(t *testing.T) {
	h := newHarness(t, engine.Options{})

	if err := h.st.Create(t.Context(), newValue(inputT, "a", 3)); err != nil {
		t.Fatal(err)
	}

	if err := h.eng.Register(doubler("test.Doubler")); err != nil {
		t.Fatal(err)
	}

	h.start(t)

	eventually(t, "middle a = 6", func() bool { return h.valueOf(middleT, "a") == 6 })
}

func TestRestartBackoff(t *testing.T) {
	h := newHarness(t, engine.Options{BackoffInitial: time.Second, BackoffMax: 8 * time.Second})

	var (
		mu    sync.Mutex
		waits []time.Duration
		runs  atomic.Int32
	)

	engine.SetAfter(h.eng, func(d time.Duration) <-chan time.Time {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()

		fired := make(chan time.Time, 1)
		fired <- time.Time{}

		return fired
	})

	c := &funcController{
		name:    "test.Failing",
		outputs: []runtime.Output{{Type: middleT}},
		reconcile: func(context.Context, runtime.ControllerRuntime) error {
			if runs.Add(1) <= 6 {
				return errors.New("not yet")
			}

			return nil
		},
	}

	if err := h.eng.Register(c); err != nil {
		t.Fatal(err)
	}

	h.start(t)

	eventually(t, "seventh run", func() bool { return runs.Load() >= 7 })

	mu.Lock()
	defer mu.Unlock()

	want := []time.Duration{1, 2, 4, 8, 8, 8}
	for i := range want {
		want[i] *= time.Second
	}

	if !slices.Equal(waits, want) {
		t.Fatalf("backoffs %v, want %v", waits, want)
	}

	if !strings.Contains(h.logs.String(), "not yet") {
		t.Fatal("the controller's error was not logged")
	}
}

func TestPanicRecovered(t *testing.T) {
	h := newHarness(t, engine.Options{BackoffInitial: time.Millisecond})

	var runs atomic.Int32

	c := &funcController{
		name:    "test.Panicky",
		outputs: []runtime.Output{{Type: middleT}},
		reconcile: func(ctx context.Context, r runtime.ControllerRuntime) error {
			if runs.Add(1) == 1 {
				panic("boom")
			}

			return r.Create(ctx, newValue(middleT, "after-panic", 1))
		},
	}

	if err := h.eng.Register(c); err != nil {
		t.Fatal(err)
	}

	h.start(t)

	eventually(t, "output after restart", func() bool { return h.valueOf(middleT, "after-panic") == 1 })

	logs := h.logs.String()
	for _, want := range []string{"controller panicked", "boom", "component=controller-runtime", "controller=test.Panicky", "goroutine "} {
		if !strings.Contains(logs, want) {
			t.Fatalf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestControllerReturningNilIsNotRestarted(t *testing.T) {
	h := newHarness(t, engine.Options{BackoffInitial: time.Millisecond})

	oneShot := &oneShotController{funcController: &funcController{name: "test.OneShot"}}
	if err := h.eng.Register(oneShot); err != nil {
		t.Fatal(err)
	}

	h.start(t)

	eventually(t, "controller finished", func() bool { return strings.Contains(h.logs.String(), "controller finished") })

	if n := oneShot.runs.Load(); n != 1 {
		t.Fatalf("Run called %d times, want 1", n)
	}
}

// oneShotController returns nil from its first Run.
type oneShotController struct {
	*funcController
	runs atomic.Int32
}

func (c *oneShotController) Run(context.Context, runtime.ControllerRuntime, *slog.Logger) error {
	c.runs.Add(1)

	return nil
}
