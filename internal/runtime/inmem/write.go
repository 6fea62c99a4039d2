package inmem

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// Create stores a new resource; see runtime.Writer.
func (s *State) Create(_ context.Context, r resource.Resource, opts ...runtime.WriteOption) error {
	o := runtime.NewWriteOptions(opts...)

	md := r.Metadata()
	if err := md.Validate(); err != nil {
		return fmt.Errorf("create: %w", err)
	}

	ks := s.kind(md.Namespace, md.Type, true)
	ks.mu.Lock()
	defer ks.mu.Unlock()

	if _, ok := ks.items[md.ID]; ok {
		return fmt.Errorf("create %s: %w", md.Ref(), runtime.ErrAlreadyExists)
	}

	stored := r.DeepCopy()
	smd := stored.Metadata()
	now := s.now()
	smd.Version, smd.Phase, smd.Owner = 1, resource.PhaseRunning, o.Owner
	smd.Created, smd.Updated = now, now

	ks.items[md.ID] = stored
	ks.record(runtime.Created, stored, nil)
	*md = smd.Clone()

	return nil
}

// Update replaces the spec and labels of a resource; see runtime.Writer.
func (s *State) Update(_ context.Context, r resource.Resource, opts ...runtime.WriteOption) error {
	o := runtime.NewWriteOptions(opts...)
	md := r.Metadata()

	return s.change("update", md.Ref(), func(cur resource.Resource) (resource.Resource, error) {
		cmd := cur.Metadata()

		switch {
		case cmd.Owner != o.Owner:
			return nil, runtime.OwnerConflict("update", md.Ref(), cmd.Owner, o.Owner)
		case md.Version != cmd.Version:
			return nil, fmt.Errorf("update %s: %w: read version %d, current version %d",
				md.Ref(), runtime.ErrVersionConflict, md.Version, cmd.Version)
		case cmd.Phase == resource.PhaseTearingDown && !o.AnyPhase:
			return nil, fmt.Errorf("update %s: %w: resource is %s", md.Ref(), runtime.ErrPhaseConflict, cmd.Phase)
		}

		if maps.Equal(md.Labels, cmd.Labels) && reflect.DeepEqual(r.Spec(), cur.Spec()) {
			*md = cmd.Clone()

			return nil, nil
		}

		next := r.DeepCopy()
		labels := next.Metadata().Labels
		*next.Metadata() = cmd.Clone()
		next.Metadata().Labels = labels

		return next, nil
	}, md)
}

// Teardown moves a resource to tearing-down; see runtime.Writer.
func (s *State) Teardown(_ context.Context, ref resource.Ref, opts ...runtime.WriteOption) (bool, error) {
	o := runtime.NewWriteOptions(opts...)

	var ready bool

	err := s.change("teardown", ref, func(cur resource.Resource) (resource.Resource, error) {
		cmd := cur.Metadata()
		if cmd.Owner != o.Owner {
			return nil, runtime.OwnerConflict("teardown", ref, cmd.Owner, o.Owner)
		}

		ready = !cmd.HasFinalizers()
		if cmd.Phase == resource.PhaseTearingDown {
			return nil, nil
		}

		next := cur.DeepCopy()
		next.Metadata().Phase = resource.PhaseTearingDown

		return next, nil
	}, nil)

	return ready, err
}

// Destroy removes a resource without finalizers; see runtime.Writer.
func (s *State) Destroy(_ context.Context, ref resource.Ref, opts ...runtime.WriteOption) error {
	o := runtime.NewWriteOptions(opts...)

	ks := s.kind(ref.Namespace, ref.Type, false)
	if ks == nil {
		return fmt.Errorf("destroy %s: %w", ref, runtime.ErrNotFound)
	}

	ks.mu.Lock()
	defer ks.mu.Unlock()

	cur, ok := ks.items[ref.ID]
	if !ok {
		return fmt.Errorf("destroy %s: %w", ref, runtime.ErrNotFound)
	}

	cmd := cur.Metadata()
	if cmd.Owner != o.Owner {
		return runtime.OwnerConflict("destroy", ref, cmd.Owner, o.Owner)
	}

	if cmd.HasFinalizers() {
		return fmt.Errorf("destroy %s: %w: pending finalizers %v", ref, runtime.ErrPhaseConflict, cmd.Finalizers)
	}

	delete(ks.items, ref.ID)
	ks.record(runtime.Destroyed, cur, nil)

	return nil
}

// AddFinalizers adds the missing finalizers; see runtime.Writer.
func (s *State) AddFinalizers(_ context.Context, ref resource.Ref, names ...string) error {
	return s.change("add finalizers to", ref, func(cur resource.Resource) (resource.Resource, error) {
		cmd := cur.Metadata()
		if cmd.Phase == resource.PhaseTearingDown {
			return nil, fmt.Errorf("add finalizers to %s: %w: resource is %s", ref, runtime.ErrPhaseConflict, cmd.Phase)
		}

		next := cur.DeepCopy()
		nmd := next.Metadata()

		for _, n := range names {
			if !slices.Contains(nmd.Finalizers, n) {
				nmd.Finalizers = append(nmd.Finalizers, n)
			}
		}

		if len(nmd.Finalizers) == len(cmd.Finalizers) {
			return nil, nil
		}

		return next, nil
	}, nil)
}

// RemoveFinalizers removes the finalizers present; see runtime.Writer.
func (s *State) RemoveFinalizers(_ context.Context, ref resource.Ref, names ...string) error {
	return s.change("remove finalizers from", ref, func(cur resource.Resource) (resource.Resource, error) {
		next := cur.DeepCopy()
		nmd := next.Metadata()
		nmd.Finalizers = slices.DeleteFunc(nmd.Finalizers, func(f string) bool {
			return slices.Contains(names, f)
		})

		if len(nmd.Finalizers) == len(cur.Metadata().Finalizers) {
			return nil, nil
		}

		if len(nmd.Finalizers) == 0 {
			nmd.Finalizers = nil
		}

		return next, nil
	}, nil)
}

// change applies fn to the current resource under the kind's lock. fn
// returns the next resource (metadata copied from the current one), or nil
// for no change. A change bumps the version, stamps Updated, stores and
// records it, and copies the stored metadata to out when given.
func (s *State) change(op string, ref resource.Ref,
	fn func(cur resource.Resource) (resource.Resource, error), out *resource.Metadata,
) error {
	ks := s.kind(ref.Namespace, ref.Type, false)
	if ks == nil {
		return fmt.Errorf("%s %s: %w", op, ref, runtime.ErrNotFound)
	}

	ks.mu.Lock()
	defer ks.mu.Unlock()

	cur, ok := ks.items[ref.ID]
	if !ok {
		return fmt.Errorf("%s %s: %w", op, ref, runtime.ErrNotFound)
	}

	next, err := fn(cur)
	if err != nil || next == nil {
		return err
	}

	nmd := next.Metadata()
	nmd.Version = cur.Metadata().Version + 1
	nmd.Updated = s.now()

	ks.items[ref.ID] = next
	ks.record(runtime.Updated, next, cur)

	if out != nil {
		*out = nmd.Clone()
	}

	return nil
}
