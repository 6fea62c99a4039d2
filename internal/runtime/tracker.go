package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// OutputTracker helps a controller reconcile a whole set of outputs: every
// run writes the outputs it wants through the tracker, then Cleanup removes
// the outputs of the tracked types that the run did not write.
//
//	tr := runtime.NewOutputTracker(r, "network", AddressType)
//	for _, want := range desired {
//		if err := tr.Modify(ctx, want.template, want.fill); err != nil { ... }
//	}
//	if err := tr.Cleanup(ctx); err != nil { ... }
//
// Cleanup tears down each stale output it owns and destroys it once it has
// no finalizers. Outputs held by finalizers stay tearing-down; to finish
// them as soon as the consumers let go, declare the output type as an
// InputDestroyReady input. A wanted output that is still tearing down is
// left alone by Modify (it cannot be revived) and re-created by a later run,
// after Cleanup destroyed it.
type OutputTracker struct {
	rt        ControllerRuntime
	namespace string
	types     []string
	kept      map[resource.Ref]struct{}
}

// NewOutputTracker tracks the outputs of the given types in namespace.
func NewOutputTracker(r ControllerRuntime, namespace string, types ...string) *OutputTracker {
	return &OutputTracker{rt: r, namespace: namespace, types: types, kept: map[resource.Ref]struct{}{}}
}

// Keep marks an output as wanted in this run without writing it.
func (t *OutputTracker) Keep(ref resource.Ref) {
	t.kept[ref] = struct{}{}
}

// Modify creates or updates an output as runtime.Modify does and keeps it;
// see OutputTracker for outputs that are tearing down.
func (t *OutputTracker) Modify(ctx context.Context, template resource.Resource,
	fn func(resource.Resource) error,
) error {
	ref := template.Metadata().Ref()

	cur, err := t.rt.Get(ctx, ref)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("track %s: %w", ref, err)
	}

	if cur != nil && cur.Metadata().Phase == resource.PhaseTearingDown {
		return nil
	}

	t.Keep(ref)

	return Modify(ctx, t.rt, template, fn)
}

// Cleanup tears down and destroys the owned outputs of the tracked types
// that were not kept since the last Cleanup, then forgets the kept set.
func (t *OutputTracker) Cleanup(ctx context.Context) error {
	defer clear(t.kept)

	var errs []error

	for _, typ := range t.types {
		items, err := t.rt.List(ctx, t.namespace, typ)
		if err != nil {
			errs = append(errs, fmt.Errorf("cleanup %s: %w", typ, err))

			continue
		}

		for _, r := range items {
			if err := t.cleanupOne(ctx, r.Metadata()); err != nil {
				errs = append(errs, err)
			}
		}
	}

	return errors.Join(errs...)
}

func (t *OutputTracker) cleanupOne(ctx context.Context, md *resource.Metadata) error {
	if md.Owner != t.rt.Owner() {
		return nil
	}

	if _, ok := t.kept[md.Ref()]; ok {
		return nil
	}

	ready, err := t.rt.Teardown(ctx, md.Ref())
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}

	if !ready {
		return nil
	}

	if err := t.rt.Destroy(ctx, md.Ref()); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("cleanup: %w", err)
	}

	return nil
}
