package engine

import (
	"context"
	"log/slog"
	"testing"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/runtime/inmem"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

type idleController struct{}

func (idleController) Name() string              { return "test.Idle" }
func (idleController) Inputs() []runtime.Input   { return nil }
func (idleController) Outputs() []runtime.Output { return nil }

func (idleController) Run(context.Context, runtime.ControllerRuntime, *slog.Logger) error {
	return nil
}

// TestNotifyCoalesces: any burst of triggers while the controller is busy
// leaves exactly one pending event.
func TestNotifyCoalesces(t *testing.T) {
	a := newAdapter(idleController{}, inmem.New())

	for _, burst := range []int{1, 2, 100} {
		for range burst {
			a.notify()
		}

		if n := len(a.EventCh()); n != 1 {
			t.Fatalf("burst of %d: %d pending events, want 1", burst, n)
		}

		<-a.EventCh()
	}

	if n := len(a.EventCh()); n != 0 {
		t.Fatalf("%d events pending after draining", n)
	}
}

func TestDestroyReadyFilter(t *testing.T) {
	ready := newTestValue(2, 0)
	held := newTestValue(2, 1)
	running := newTestValue(0, 0)

	in := runtime.Input{Kind: runtime.InputDestroyReady}

	tests := []struct {
		name string
		in   runtime.Input
		ev   runtime.Event
		want bool
	}{
		{"weak sees everything", runtime.Input{}, runtime.Event{Type: runtime.Updated, Resource: running}, true},
		{"ready to destroy", in, runtime.Event{Type: runtime.Updated, Resource: ready}, true},
		{"held by finalizer", in, runtime.Event{Type: runtime.Updated, Resource: held}, false},
		{"running", in, runtime.Event{Type: runtime.Updated, Resource: running}, false},
		{"destroyed", in, runtime.Event{Type: runtime.Destroyed, Resource: ready}, false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := triggers(tt.in, tt.ev); got != tt.want {
				t.Fatalf("triggers = %v, want %v", got, tt.want)
			}
		})
	}
}

// newTestValue returns a resource in phase (0 running, else tearing down)
// with n finalizers.
func newTestValue(phase, n int) resource.Resource {
	r := resource.NewTyped("test", "T", "id", 0)
	if phase != 0 {
		r.Metadata().Phase = resource.PhaseTearingDown
	}

	for range n {
		r.Metadata().Finalizers = append(r.Metadata().Finalizers, "f")
	}

	return r
}
