package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// adapter is a controller's runtime.ControllerRuntime: the state seen
// through the controller's declarations, writing as the controller.
type adapter struct {
	ctrl    runtime.Controller
	name    string
	state   runtime.State
	inputs  []runtime.Input
	outputs []runtime.Output
	events  chan struct{} // capacity 1: pending triggers coalesce
}

var _ runtime.ControllerRuntime = (*adapter)(nil)

func newAdapter(c runtime.Controller, st runtime.State) *adapter {
	return &adapter{
		ctrl:    c,
		name:    c.Name(),
		state:   st,
		inputs:  slices.Clone(c.Inputs()),
		outputs: slices.Clone(c.Outputs()),
		events:  make(chan struct{}, 1),
	}
}

// notify queues a trigger unless one is already pending.
func (a *adapter) notify() {
	select {
	case a.events <- struct{}{}:
	default:
	}
}

// EventCh delivers the coalesced triggers.
func (a *adapter) EventCh() <-chan struct{} {
	return a.events
}

// Owner is the controller's name.
func (a *adapter) Owner() string {
	return a.name
}

func (a *adapter) readable(namespace, typ string) bool {
	return a.writable(typ) || slices.ContainsFunc(a.inputs, func(in runtime.Input) bool {
		return in.Namespace == namespace && in.Type == typ
	})
}

func (a *adapter) writable(typ string) bool {
	return slices.ContainsFunc(a.outputs, func(out runtime.Output) bool { return out.Type == typ })
}

func (a *adapter) strongInput(ref resource.Ref) bool {
	return slices.ContainsFunc(a.inputs, func(in runtime.Input) bool {
		return in.Kind == runtime.InputStrong && in.Namespace == ref.Namespace && in.Type == ref.Type &&
			(in.ID == "" || in.ID == ref.ID)
	})
}

func (a *adapter) undeclared(op string, namespace, typ, as string) error {
	return fmt.Errorf("controller %s %s %s/%s: %w (not a declared %s)",
		a.name, op, namespace, typ, runtime.ErrUndeclared, as)
}

// Get reads one resource of a declared input or output type.
func (a *adapter) Get(ctx context.Context, ref resource.Ref) (resource.Resource, error) {
	if !a.readable(ref.Namespace, ref.Type) {
		return nil, a.undeclared("reads", ref.Namespace, ref.Type, "input or output")
	}

	return a.state.Get(ctx, ref)
}

// List reads resources of a declared input or output type.
func (a *adapter) List(ctx context.Context, namespace, typ string, opts ...runtime.ListOption) ([]resource.Resource, error) {
	if !a.readable(namespace, typ) {
		return nil, a.undeclared("lists", namespace, typ, "input or output")
	}

	return a.state.List(ctx, namespace, typ, opts...)
}

// asOwner appends the controller as owner, overriding any other.
func (a *adapter) asOwner(opts []runtime.WriteOption) []runtime.WriteOption {
	return append(slices.Clone(opts), runtime.WithOwner(a.name))
}

// Create creates an output owned by the controller.
func (a *adapter) Create(ctx context.Context, r resource.Resource, opts ...runtime.WriteOption) error {
	md := r.Metadata()
	if !a.writable(md.Type) {
		return a.undeclared("creates", md.Namespace, md.Type, "output")
	}

	return a.state.Create(ctx, r, a.asOwner(opts)...)
}

// Update updates an output owned by the controller.
func (a *adapter) Update(ctx context.Context, r resource.Resource, opts ...runtime.WriteOption) error {
	md := r.Metadata()
	if !a.writable(md.Type) {
		return a.undeclared("updates", md.Namespace, md.Type, "output")
	}

	return a.state.Update(ctx, r, a.asOwner(opts)...)
}

// Teardown tears down an output owned by the controller.
func (a *adapter) Teardown(ctx context.Context, ref resource.Ref, opts ...runtime.WriteOption) (bool, error) {
	if !a.writable(ref.Type) {
		return false, a.undeclared("tears down", ref.Namespace, ref.Type, "output")
	}

	return a.state.Teardown(ctx, ref, a.asOwner(opts)...)
}

// Destroy destroys an output owned by the controller.
func (a *adapter) Destroy(ctx context.Context, ref resource.Ref, opts ...runtime.WriteOption) error {
	if !a.writable(ref.Type) {
		return a.undeclared("destroys", ref.Namespace, ref.Type, "output")
	}

	return a.state.Destroy(ctx, ref, a.asOwner(opts)...)
}

// AddFinalizers adds the controller's own finalizer to a strong input.
func (a *adapter) AddFinalizers(ctx context.Context, ref resource.Ref, names ...string) error {
	if err := a.checkFinalizers(ref, names); err != nil {
		return err
	}

	return a.state.AddFinalizers(ctx, ref, names...)
}

// RemoveFinalizers removes the controller's own finalizer from a strong
// input.
func (a *adapter) RemoveFinalizers(ctx context.Context, ref resource.Ref, names ...string) error {
	if err := a.checkFinalizers(ref, names); err != nil {
		return err
	}

	return a.state.RemoveFinalizers(ctx, ref, names...)
}

func (a *adapter) checkFinalizers(ref resource.Ref, names []string) error {
	if !a.strongInput(ref) {
		return a.undeclared("sets finalizers on", ref.Namespace, ref.Type, "strong input")
	}

	for _, n := range names {
		if n != a.name {
			return fmt.Errorf("controller %s sets finalizer %q on %s: only its own name is allowed", a.name, n, ref)
		}
	}

	return nil
}
