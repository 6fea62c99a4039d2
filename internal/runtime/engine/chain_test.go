package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/runtime/engine"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

const consumerName = "test.Consumer"

// consumer writes final = middle + 1. It holds a finalizer on each middle
// it consumes (strong input) and releases it once the middle is tearing
// down and the final derived from it is gone.
func consumer() *funcController {
	return &funcController{
		name:    consumerName,
		inputs:  []runtime.Input{{Namespace: ns, Type: middleT, Kind: runtime.InputStrong}},
		outputs: []runtime.Output{{Type: finalT}},
		reconcile: func(ctx context.Context, r runtime.ControllerRuntime) error {
			mids, err := r.List(ctx, ns, middleT)
			if err != nil {
				return err
			}

			tr := runtime.NewOutputTracker(r, ns, finalT)

			var releasing []resource.Ref

			for _, m := range mids {
				ok, err := consume(ctx, r, tr, m)
				if err != nil {
					return err
				}

				if !ok {
					releasing = append(releasing, m.Metadata().Ref())
				}
			}

			if err := tr.Cleanup(ctx); err != nil {
				return err
			}

			for _, ref := range releasing {
				// Already destroyed is fine: releasing is idempotent.
				if err := r.RemoveFinalizers(ctx, ref, r.Owner()); err != nil && !errors.Is(err, runtime.ErrNotFound) {
					return err
				}
			}

			return nil
		},
	}
}

// consume derives a final from a running middle; false when the middle is
// going away.
func consume(ctx context.Context, r runtime.ControllerRuntime, tr *runtime.OutputTracker, m resource.Resource) (bool, error) {
	if m.Metadata().Phase == resource.PhaseTearingDown {
		return false, nil
	}

	err := r.AddFinalizers(ctx, m.Metadata().Ref(), r.Owner())
	if errors.Is(err, runtime.ErrPhaseConflict) {
		return false, nil // torn down since we listed it
	}

	if err != nil {
		return false, err
	}

	v := m.(*value).TypedSpec().Value

	return true, tr.Modify(ctx, newValue(finalT, m.Metadata().ID, 0), func(out resource.Resource) error {
		out.(*value).TypedSpec().Value = v + 1

		return nil
	})
}

// TestChainConverges runs config → doubler → middle → consumer → final and
// checks both directions: changes flow down, and a removed config tears the
// chain down in order, the finalizer keeping the middle until the final is
// gone.
func TestChainConverges(t *testing.T) {
	ctx := t.Context()
	h := newHarness(t, engine.Options{})

	for _, c := range []runtime.Controller{consumer(), doubler("test.Doubler")} {
		if err := h.eng.Register(c); err != nil {
			t.Fatal(err)
		}
	}

	h.start(t)

	for id, v := range map[string]int{"a": 1, "b": 2} {
		if err := h.st.Create(ctx, newValue(inputT, id, v)); err != nil {
			t.Fatal(err)
		}
	}

	eventually(t, "finals a=3 b=5", func() bool {
		return h.valueOf(finalT, "a") == 3 && h.valueOf(finalT, "b") == 5
	})

	mid, err := h.st.Get(ctx, resource.Ref{Namespace: ns, Type: middleT, ID: "a"})
	if err != nil {
		t.Fatal(err)
	}

	if !slices.Equal(mid.Metadata().Finalizers, []string{consumerName}) {
		t.Fatalf("middle finalizers %v, want the consumer's", mid.Metadata().Finalizers)
	}

	err = runtime.ModifyTyped(ctx, h.st, newValue(inputT, "a", 0), func(v *value) error {
		v.TypedSpec().Value = 5

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	eventually(t, "final a=11", func() bool { return h.valueOf(finalT, "a") == 11 })

	events := make(chan runtime.Event, 64)
	if err := h.st.Watch(ctx, resource.Ref{Namespace: ns, Type: middleT, ID: "b"}, events); err != nil {
		t.Fatal(err)
	}

	if err := h.st.Destroy(ctx, resource.Ref{Namespace: ns, Type: inputT, ID: "b"}); err != nil {
		t.Fatal(err)
	}

	checkTeardownOrder(t, h, events)

	if h.count(middleT) != 1 || h.count(finalT) != 1 || h.valueOf(finalT, "a") != 11 {
		t.Fatalf("chain a damaged: %d middles, %d finals, final a=%d", h.count(middleT), h.count(finalT), h.valueOf(finalT, "a"))
	}

	if logs := h.logs.String(); strings.Contains(logs, "controller failed") {
		t.Fatalf("a controller failed:\n%s", logs)
	}
}

// checkTeardownOrder follows middle b to its destruction: it must be torn
// down while the consumer's finalizer holds it, and be destroyed only after
// the final derived from it is gone.
func checkTeardownOrder(t *testing.T, h *harness, events <-chan runtime.Event) {
	t.Helper()

	heldWhileTearingDown := false

	for {
		var ev runtime.Event

		select {
		case ev = <-events:
		case <-time.After(timeout):
			t.Fatal("middle b was not destroyed")
		}

		md := ev.Resource.Metadata()

		switch ev.Type {
		case runtime.Updated:
			if md.Phase == resource.PhaseTearingDown && md.HasFinalizers() {
				heldWhileTearingDown = true
			}
		case runtime.Destroyed:
			if !heldWhileTearingDown {
				t.Fatal("middle b was never held by the consumer's finalizer")
			}

			if v := h.valueOf(finalT, "b"); v != -1 {
				t.Fatalf("middle b destroyed while final b (%d) still exists", v)
			}

			return
		}
	}
}
