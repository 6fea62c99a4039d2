package runtime_test

import (
	"context"
	"errors"
	"maps"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/runtime/inmem"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	ns  = "test"
	typ = "Outputs.test.plinth.dev"
	me  = "test.Me"
)

// ownerRuntime is a minimal ControllerRuntime: the state, writing as owner.
type ownerRuntime struct {
	*inmem.State
	owner string
}

func (r ownerRuntime) EventCh() <-chan struct{} { return nil }
func (r ownerRuntime) Owner() string            { return r.owner }

func (r ownerRuntime) Create(ctx context.Context, res resource.Resource, opts ...runtime.WriteOption) error {
	return r.State.Create(ctx, res, append(opts, runtime.WithOwner(r.owner))...)
}

func (r ownerRuntime) Update(ctx context.Context, res resource.Resource, opts ...runtime.WriteOption) error {
	return r.State.Update(ctx, res, append(opts, runtime.WithOwner(r.owner))...)
}

func (r ownerRuntime) Teardown(ctx context.Context, ref resource.Ref, opts ...runtime.WriteOption) (bool, error) {
	return r.State.Teardown(ctx, ref, append(opts, runtime.WithOwner(r.owner))...)
}

func (r ownerRuntime) Destroy(ctx context.Context, ref resource.Ref, opts ...runtime.WriteOption) error {
	return r.State.Destroy(ctx, ref, append(opts, runtime.WithOwner(r.owner))...)
}

func out(id string, v int) *resource.Typed[int] {
	return resource.NewTyped(ns, typ, id, v)
}

func set(v int) func(resource.Resource) error {
	return func(r resource.Resource) error {
		*r.(*resource.Typed[int]).TypedSpec() = v

		return nil
	}
}

func ids(t *testing.T, st *inmem.State) map[string]resource.Phase {
	t.Helper()

	items, err := st.List(t.Context(), ns, typ)
	if err != nil {
		t.Fatal(err)
	}

	m := map[string]resource.Phase{}
	for _, r := range items {
		m[r.Metadata().ID] = r.Metadata().Phase
	}

	return m
}

func TestOutputTracker(t *testing.T) {
	ctx := t.Context()
	st := inmem.New()
	r := ownerRuntime{State: st, owner: me}
	other := ownerRuntime{State: st, owner: "test.Other"}

	// Run 1 writes x, y and z; another controller owns w.
	tr := runtime.NewOutputTracker(r, ns, typ)
	for _, id := range []string{"x", "y", "z"} {
		if err := tr.Modify(ctx, out(id, 1), set(1)); err != nil {
			t.Fatal(err)
		}
	}

	if err := tr.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}

	if err := other.Create(ctx, out("w", 1)); err != nil {
		t.Fatal(err)
	}

	if err := st.AddFinalizers(ctx, resource.Ref{Namespace: ns, Type: typ, ID: "y"}, "consumer"); err != nil {
		t.Fatal(err)
	}

	// Run 2 wants only x: y is held by a finalizer, z goes, w is not ours.
	if err := tr.Modify(ctx, out("x", 2), set(2)); err != nil {
		t.Fatal(err)
	}

	if err := tr.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}

	want := map[string]resource.Phase{"x": resource.PhaseRunning, "y": resource.PhaseTearingDown, "w": resource.PhaseRunning}
	if got := ids(t, st); !maps.Equal(got, want) {
		t.Fatalf("after run 2: %v, want %v", got, want)
	}

	// Run 3 wants y again, but it is tearing down: left alone, not revived.
	if err := tr.Modify(ctx, out("y", 3), set(3)); err != nil {
		t.Fatal(err)
	}

	if err := st.RemoveFinalizers(ctx, resource.Ref{Namespace: ns, Type: typ, ID: "y"}, "consumer"); err != nil {
		t.Fatal(err)
	}

	if err := tr.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}

	// Cleanup forgot the kept set: x went too in run 3; y is finally gone.
	want = map[string]resource.Phase{"w": resource.PhaseRunning}
	if got := ids(t, st); !maps.Equal(got, want) {
		t.Fatalf("after run 3: %v, want %v", got, want)
	}

	// Run 4 re-creates y.
	if err := tr.Modify(ctx, out("y", 4), set(4)); err != nil {
		t.Fatal(err)
	}

	if _, err := st.Get(ctx, resource.Ref{Namespace: ns, Type: typ, ID: "y"}); err != nil {
		t.Fatalf("y not re-created: %v", err)
	}
}

func TestOutputTrackerReportsErrors(t *testing.T) {
	ctx := t.Context()
	r := ownerRuntime{State: inmem.New(), owner: me}

	boom := errors.New("boom")
	tr := runtime.NewOutputTracker(r, ns, typ)

	if err := tr.Modify(ctx, out("x", 1), func(resource.Resource) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Modify error %v, want boom", err)
	}
}
