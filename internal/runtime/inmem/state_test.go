package inmem_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

func TestCreateGet(t *testing.T) {
	ctx := t.Context()
	st := newState()

	w := newWidget("a", 1)
	w.Metadata().Labels = map[string]string{"role": "cp"}
	w.Metadata().Version = 42 // ignored: the state sets versions

	if err := st.Create(ctx, w, runtime.WithOwner(ownerA)); err != nil {
		t.Fatal(err)
	}

	md := w.Metadata()
	if md.Version != 1 || md.Owner != ownerA || md.Phase != resource.PhaseRunning ||
		md.Created.IsZero() || !md.Created.Equal(md.Updated) {
		t.Fatalf("caller metadata not set from the stored one: %+v", md)
	}

	got, err := st.Get(ctx, ref("a"))
	if err != nil {
		t.Fatal(err)
	}

	if got.Metadata().Version != 1 || got.(*widget).TypedSpec().Size != 1 || got.Metadata().Labels["role"] != "cp" {
		t.Fatalf("unexpected stored resource %+v", got)
	}

	// Get returns a copy: changing it changes nothing stored.
	got.(*widget).TypedSpec().Size = 99
	got.Metadata().Labels["role"] = "x"

	again, _ := st.Get(ctx, ref("a"))
	if again.(*widget).TypedSpec().Size != 1 || again.Metadata().Labels["role"] != "cp" {
		t.Fatal("Get returned the stored resource, not a copy")
	}
}

func TestCreateErrors(t *testing.T) {
	ctx := t.Context()
	st := newState()

	if err := st.Create(ctx, newWidget("a", 1)); err != nil {
		t.Fatal(err)
	}

	err := st.Create(ctx, newWidget("a", 2))
	if !errors.Is(err, runtime.ErrAlreadyExists) || !strings.Contains(err.Error(), ref("a").String()) {
		t.Fatalf("duplicate create: %v", err)
	}

	if err := st.Create(ctx, newWidget("", 1)); err == nil || !strings.Contains(err.Error(), "id is empty") {
		t.Fatalf("create without id: %v", err)
	}

	if _, err := st.Get(ctx, ref("missing")); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}

	if _, err := st.Get(ctx, resource.Ref{Namespace: "other", Type: "T", ID: "x"}); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("get in unknown kind: %v", err)
	}
}

func TestUpdateVersions(t *testing.T) {
	ctx := t.Context()
	st := newState()

	w := newWidget("a", 1)
	if err := st.Create(ctx, w); err != nil {
		t.Fatal(err)
	}

	stale := w.DeepCopy().(*widget)

	w.TypedSpec().Size = 2
	if err := st.Update(ctx, w); err != nil {
		t.Fatal(err)
	}

	if w.Metadata().Version != 2 || !w.Metadata().Updated.After(w.Metadata().Created) {
		t.Fatalf("update did not bump version and time: %+v", w.Metadata())
	}

	stale.TypedSpec().Size = 3

	err := st.Update(ctx, stale)
	if !errors.Is(err, runtime.ErrVersionConflict) {
		t.Fatalf("stale update: %v", err)
	}

	for _, want := range []string{ref("a").String(), "read version 1", "current version 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not mention %q", err, want)
		}
	}

	// An update that changes nothing keeps the version.
	if err := st.Update(ctx, w); err != nil || w.Metadata().Version != 2 {
		t.Fatalf("no-op update: %v, version %d", err, w.Metadata().Version)
	}

	// Labels are part of what Update changes.
	w.Metadata().Labels = map[string]string{"k": "v"}
	if err := st.Update(ctx, w); err != nil || w.Metadata().Version != 3 {
		t.Fatalf("label update: %v, version %d", err, w.Metadata().Version)
	}

	if err := st.Update(ctx, newWidget("missing", 1)); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
}

func TestUpdateKeepsStateOwnedMetadata(t *testing.T) {
	ctx := t.Context()
	st := newState()

	w := newWidget("a", 1)
	if err := st.Create(ctx, w, runtime.WithOwner(ownerA)); err != nil {
		t.Fatal(err)
	}

	if err := st.AddFinalizers(ctx, ref("a"), "f"); err != nil {
		t.Fatal(err)
	}

	cur, _ := st.Get(ctx, ref("a"))
	cur.Metadata().Finalizers = nil
	cur.Metadata().Owner = "someone"
	cur.Metadata().Phase = resource.PhaseTearingDown
	cur.(*widget).TypedSpec().Size = 5

	err := st.Update(ctx, cur, runtime.WithOwner(ownerA))
	if err != nil {
		t.Fatal(err)
	}

	got, _ := st.Get(ctx, ref("a"))
	if md := got.Metadata(); md.Owner != ownerA || md.Phase != resource.PhaseRunning ||
		len(md.Finalizers) != 1 || got.(*widget).TypedSpec().Size != 5 {
		t.Fatalf("update changed state-owned metadata: %+v", md)
	}
}

func TestOwnerConflicts(t *testing.T) {
	tests := []struct {
		name  string
		owner string
		op    func(ctx context.Context, st runtime.State, w *widget, opts ...runtime.WriteOption) error
	}{
		{"update", ownerA, func(ctx context.Context, st runtime.State, w *widget, opts ...runtime.WriteOption) error {
			w.TypedSpec().Size++

			return st.Update(ctx, w, opts...)
		}},
		{"teardown", ownerA, func(ctx context.Context, st runtime.State, w *widget, opts ...runtime.WriteOption) error {
			_, err := st.Teardown(ctx, w.Metadata().Ref(), opts...)

			return err
		}},
		{"destroy", ownerA, func(ctx context.Context, st runtime.State, w *widget, opts ...runtime.WriteOption) error {
			return st.Destroy(ctx, w.Metadata().Ref(), opts...)
		}},
		{"update user-owned", "", func(ctx context.Context, st runtime.State, w *widget, opts ...runtime.WriteOption) error {
			w.TypedSpec().Size++

			return st.Update(ctx, w, opts...)
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			st := newState()

			w := newWidget("a", 1)
			if err := st.Create(ctx, w, runtime.WithOwner(tt.owner)); err != nil {
				t.Fatal(err)
			}

			err := tt.op(ctx, st, w.DeepCopy().(*widget), runtime.WithOwner(ownerB))
			if !errors.Is(err, runtime.ErrOwnerConflict) {
				t.Fatalf("write by non-owner: %v", err)
			}

			if !strings.Contains(err.Error(), `owned by "`+runtime.OwnerName(tt.owner)+`"`) ||
				!strings.Contains(err.Error(), ownerB) {
				t.Fatalf("error %q does not name both owners", err)
			}

			if err := tt.op(ctx, st, w.DeepCopy().(*widget), runtime.WithOwner(tt.owner)); err != nil {
				t.Fatalf("write by owner: %v", err)
			}
		})
	}
}

func TestFinalizersAndTeardown(t *testing.T) {
	ctx := t.Context()
	st := newState()

	w := newWidget("a", 1)
	if err := st.Create(ctx, w, runtime.WithOwner(ownerA)); err != nil {
		t.Fatal(err)
	}

	step := func(name string, err error, want error) {
		t.Helper()

		if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
			t.Fatalf("%s: error %v, want %v", name, err, want)
		}
	}

	owner := runtime.WithOwner(ownerA)

	step("add", st.AddFinalizers(ctx, ref("a"), "f1", "f2", "f1"), nil)
	step("destroy with finalizers", st.Destroy(ctx, ref("a"), owner), runtime.ErrPhaseConflict)

	ready, err := st.Teardown(ctx, ref("a"), owner)
	step("teardown", err, nil)

	if ready {
		t.Fatal("teardown reported ready with finalizers pending")
	}

	step("add while tearing down", st.AddFinalizers(ctx, ref("a"), "f3"), runtime.ErrPhaseConflict)

	cur, _ := st.Get(ctx, ref("a"))
	cur.(*widget).TypedSpec().Size = 2
	step("update while tearing down", st.Update(ctx, cur, owner), runtime.ErrPhaseConflict)
	step("update while tearing down, any phase", st.Update(ctx, cur, owner, runtime.WithAnyPhase()), nil)

	step("remove f1", st.RemoveFinalizers(ctx, ref("a"), "f1", "absent"), nil)
	step("destroy with f2", st.Destroy(ctx, ref("a"), owner), runtime.ErrPhaseConflict)
	step("remove f2", st.RemoveFinalizers(ctx, ref("a"), "f2"), nil)

	ready, err = st.Teardown(ctx, ref("a"), owner)
	step("teardown again", err, nil)

	if !ready {
		t.Fatal("teardown not ready once finalizers are gone")
	}

	got, _ := st.Get(ctx, ref("a"))
	// create 1, add 2, teardown 3, update 4, remove f1 5, remove f2 6.
	if md := got.Metadata(); md.Version != 6 || md.Phase != resource.PhaseTearingDown || md.Finalizers != nil {
		t.Fatalf("unexpected metadata %+v", md)
	}

	step("destroy", st.Destroy(ctx, ref("a"), owner), nil)
	step("get destroyed", func() error { _, err := st.Get(ctx, ref("a")); return err }(), runtime.ErrNotFound)
	step("destroy again", st.Destroy(ctx, ref("a"), owner), runtime.ErrNotFound)
}

func TestDestroyRunningWithoutFinalizers(t *testing.T) {
	ctx := t.Context()
	st := newState()

	if err := st.Create(ctx, newWidget("a", 1)); err != nil {
		t.Fatal(err)
	}

	if err := st.Destroy(ctx, ref("a")); err != nil {
		t.Fatal(err)
	}
}

func TestListSelector(t *testing.T) {
	ctx := t.Context()
	st := newState()

	for _, c := range []struct{ id, role string }{{"c", "worker"}, {"a", "cp"}, {"b", "cp"}, {"d", ""}} {
		w := newWidget(c.id, 1)
		if c.role != "" {
			w.Metadata().Labels = map[string]string{"role": c.role}
		}

		if err := st.Create(ctx, w); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		sel  string
		want string
	}{
		{"", "a,b,c,d"},
		{"role=cp", "a,b"},
		{"role!=cp", "c,d"},
		{"role", "a,b,c"},
		{"!role", "d"},
		{"role=none", ""},
	}

	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			sel, err := resource.ParseSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}

			items, err := st.List(ctx, ns, typ, runtime.WithLabels(sel))
			if err != nil {
				t.Fatal(err)
			}

			ids := make([]string, len(items))
			for i, r := range items {
				ids[i] = r.Metadata().ID
			}

			if got := strings.Join(ids, ","); got != tt.want {
				t.Fatalf("List(%q) = %s, want %s", tt.sel, got, tt.want)
			}
		})
	}

	if items, err := st.List(ctx, "other", typ); err != nil || len(items) != 0 {
		t.Fatalf("List of unknown kind: %v, %v", items, err)
	}
}

func TestModifyRetriesOnConflict(t *testing.T) {
	ctx := t.Context()
	st := newState()

	const writers, rounds = 8, 25

	var wg sync.WaitGroup

	errs := make(chan error, writers*rounds)

	for range writers {
		wg.Go(func() {
			for range rounds {
				errs <- runtime.ModifyTyped(ctx, st, newWidget("counter", 0), func(w *widget) error {
					w.TypedSpec().Size++

					return nil
				})
			}
		})
	}

	wg.Wait()
	close(errs)

	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	got, err := st.Get(ctx, ref("counter"))
	if err != nil {
		t.Fatal(err)
	}

	if size := got.(*widget).TypedSpec().Size; size != writers*rounds {
		t.Fatalf("counter = %d, want %d: an increment was lost", size, writers*rounds)
	}
}

func TestModifyErrors(t *testing.T) {
	ctx := t.Context()
	st := newState()

	boom := errors.New("boom")
	if err := runtime.Modify(ctx, st, newWidget("a", 1), func(resource.Resource) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn error not returned: %v", err)
	}

	if _, err := st.Get(ctx, ref("a")); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatal("a failed Modify created the resource")
	}

	other := resource.NewTyped(ns, typ, "b", "a string spec")
	if err := st.Create(ctx, other); err != nil {
		t.Fatal(err)
	}

	err := runtime.ModifyTyped(ctx, st, newWidget("b", 1), func(*widget) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "not *resource.Typed") {
		t.Fatalf("type mismatch: %v", err)
	}

	err = runtime.Modify(ctx, st, other, func(resource.Resource) error { return nil }, runtime.WithOwner(ownerA))
	if !errors.Is(err, runtime.ErrOwnerConflict) {
		t.Fatalf("modify by non-owner: %v", err)
	}
}
