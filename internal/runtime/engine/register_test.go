package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/runtime/engine"
	"github.com/plinth-os/plinth/internal/runtime/inmem"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

func declared(name string, inputs []runtime.Input, outputs ...runtime.Output) *funcController {
	return &funcController{name: name, inputs: inputs, outputs: outputs}
}

func TestRegisterRefusesConflicts(t *testing.T) {
	tests := []struct {
		name string
		c    *funcController
		want string
	}{
		{"exclusive over exclusive", declared("c", nil, runtime.Output{Type: middleT}), "conflicts with controller test.A"},
		{"shared over exclusive", declared("c", nil, runtime.Output{Type: middleT, Kind: runtime.OutputShared}), "conflicts with controller test.A"},
		{"exclusive over shared", declared("c", nil, runtime.Output{Type: finalT}), "conflicts with controller test.B"},
		{"same name", declared("test.A", nil), "name already registered"},
		{"empty name", declared("", nil), "empty name"},
		{"input without type", declared("c", []runtime.Input{{Namespace: ns}}), "namespace and type are required"},
		{"output twice", declared("c", nil, runtime.Output{Type: "X"}, runtime.Output{Type: "X"}), "declared twice"},
		{"output without type", declared("c", nil, runtime.Output{}), "empty type"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, engine.Options{})

			if err := h.eng.Register(declared("test.A", nil, runtime.Output{Type: middleT})); err != nil {
				t.Fatal(err)
			}

			if err := h.eng.Register(declared("test.B", nil, runtime.Output{Type: finalT, Kind: runtime.OutputShared})); err != nil {
				t.Fatal(err)
			}

			err := h.eng.Register(tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Register error %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestRegisterSharedTwice(t *testing.T) {
	h := newHarness(t, engine.Options{})

	for _, name := range []string{"test.A", "test.B"} {
		if err := h.eng.Register(declared(name, nil, runtime.Output{Type: finalT, Kind: runtime.OutputShared})); err != nil {
			t.Fatalf("shared output refused: %v", err)
		}
	}
}

func TestRegisterAndRunOnlyBeforeRun(t *testing.T) {
	h := newHarness(t, engine.Options{})
	h.start(t)

	eventually(t, "engine running", func() bool { return strings.Contains(h.logs.String(), "controllers started") })

	if err := h.eng.Register(declared("late", nil)); err == nil {
		t.Fatal("Register accepted while running")
	}

	if err := h.eng.Run(t.Context()); err == nil {
		t.Fatal("second Run accepted")
	}
}

// TestRuntimeConfinesController checks what a controller may touch.
func TestRuntimeConfinesController(t *testing.T) {
	h := newHarness(t, engine.Options{})

	ref := func(typ, id string) resource.Ref { return resource.Ref{Namespace: ns, Type: typ, ID: id} }

	for _, r := range []*value{newValue(inputT, "weak", 1), newValue(finalT, "strong", 1)} {
		if err := h.st.Create(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}

	type check struct {
		name string
		op   func(ctx context.Context, r runtime.ControllerRuntime) error
		want error // nil: must succeed; errUndeclared-like else
		text string
	}

	const name = "test.Confined"

	checks := []check{
		{"read weak input", func(ctx context.Context, r runtime.ControllerRuntime) error {
			_, err := r.Get(ctx, ref(inputT, "weak"))

			return err
		}, nil, ""},
		{"list other namespace", func(ctx context.Context, r runtime.ControllerRuntime) error {
			_, err := r.List(ctx, "elsewhere", inputT)

			return err
		}, runtime.ErrUndeclared, "lists elsewhere/" + inputT},
		{"create input type", func(ctx context.Context, r runtime.ControllerRuntime) error {
			return r.Create(ctx, newValue(inputT, "x", 1))
		}, runtime.ErrUndeclared, "creates"},
		{"destroy input", func(ctx context.Context, r runtime.ControllerRuntime) error {
			return r.Destroy(ctx, ref(inputT, "weak"))
		}, runtime.ErrUndeclared, "destroys"},
		{"create output as another owner", func(ctx context.Context, r runtime.ControllerRuntime) error {
			return r.Create(ctx, newValue(middleT, "x", 1), runtime.WithOwner("someone.Else"))
		}, nil, ""},
		{"finalizer on weak input", func(ctx context.Context, r runtime.ControllerRuntime) error {
			return r.AddFinalizers(ctx, ref(inputT, "weak"), name)
		}, runtime.ErrUndeclared, "strong input"},
		{"foreign finalizer on strong input", func(ctx context.Context, r runtime.ControllerRuntime) error {
			return r.AddFinalizers(ctx, ref(finalT, "strong"), "someone.Else")
		}, nil, "only its own name"},
		{"own finalizer on strong input", func(ctx context.Context, r runtime.ControllerRuntime) error {
			return r.AddFinalizers(ctx, ref(finalT, "strong"), name)
		}, nil, ""},
	}

	results := make(chan error, len(checks))

	c := &funcController{
		name: name,
		inputs: []runtime.Input{
			{Namespace: ns, Type: inputT},
			{Namespace: ns, Type: finalT, ID: "strong", Kind: runtime.InputStrong},
		},
		outputs: []runtime.Output{{Type: middleT}},
	}

	var once sync.Once

	c.reconcile = func(ctx context.Context, r runtime.ControllerRuntime) error {
		once.Do(func() {
			for _, ch := range checks {
				results <- ch.op(ctx, r)
			}
		})

		return nil
	}

	if err := h.eng.Register(c); err != nil {
		t.Fatal(err)
	}

	h.start(t)

	for _, ch := range checks {
		err := <-results

		switch {
		case ch.want != nil && !errors.Is(err, ch.want):
			t.Errorf("%s: error %v, want %v", ch.name, err, ch.want)
		case ch.want == nil && ch.text == "" && err != nil:
			t.Errorf("%s: %v", ch.name, err)
		case ch.text != "" && (err == nil || !strings.Contains(err.Error(), ch.text)):
			t.Errorf("%s: error %v, want it to mention %q", ch.name, err, ch.text)
		}
	}

	if owner := ownerOf(t, h, ref(middleT, "x")); owner != name {
		t.Fatalf("output owner %q, want %q", owner, name)
	}
}

func ownerOf(t *testing.T, h *harness, ref resource.Ref) string {
	t.Helper()

	r, err := h.st.Get(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}

	return r.Metadata().Owner
}

// brokenWatchState fails every watch of one type.
type brokenWatchState struct {
	*inmem.State
	broken string
}

func (s brokenWatchState) WatchKind(ctx context.Context, namespace, typ string, ch chan<- runtime.Event, opts ...runtime.WatchOption) error {
	if typ == s.broken {
		return errors.New("watch refused")
	}

	return s.State.WatchKind(ctx, namespace, typ, ch, opts...)
}

// TestRunFailsCleanly: when an input cannot be watched, Run stops what it
// started and returns the error.
func TestRunFailsCleanly(t *testing.T) {
	st := brokenWatchState{State: inmem.New(), broken: finalT}
	eng := engine.New(st, slog.New(slog.DiscardHandler), engine.Options{})

	if err := eng.Register(doubler("test.Doubler")); err != nil {
		t.Fatal(err)
	}

	if err := eng.Register(declared("test.Broken", []runtime.Input{{Namespace: ns, Type: finalT}})); err != nil {
		t.Fatal(err)
	}

	err := eng.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "watch refused") || !strings.Contains(err.Error(), "test.Broken") {
		t.Fatalf("Run error %v, want the watch failure of test.Broken", err)
	}
}
