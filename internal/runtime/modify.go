package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// ReadWriter reads and writes resources: a State, or a ControllerRuntime.
type ReadWriter interface {
	Reader
	Writer
}

// maxModifyAttempts bounds the retries of Modify under constant contention.
const maxModifyAttempts = 100

// Modify creates or updates the resource named by template's metadata. It
// reads the current version (or copies template when there is none), lets fn
// change it, and writes it back; when another writer got there first
// (ErrVersionConflict, or ErrAlreadyExists on create) it reads again and
// retries. fn may be called several times and must only edit the resource
// it is given.
func Modify(ctx context.Context, rw ReadWriter, template resource.Resource,
	fn func(resource.Resource) error, opts ...WriteOption,
) error {
	ref := template.Metadata().Ref()

	var err error
	for range maxModifyAttempts {
		err = modifyOnce(ctx, rw, template, fn, opts)
		if !errors.Is(err, ErrVersionConflict) && !errors.Is(err, ErrAlreadyExists) {
			return err
		}

		if ctx.Err() != nil {
			return fmt.Errorf("modify %s: %w", ref, ctx.Err())
		}
	}

	return fmt.Errorf("modify %s: gave up after %d attempts: %w", ref, maxModifyAttempts, err)
}

func modifyOnce(ctx context.Context, rw ReadWriter, template resource.Resource,
	fn func(resource.Resource) error, opts []WriteOption,
) error {
	ref := template.Metadata().Ref()

	cur, err := rw.Get(ctx, ref)
	if errors.Is(err, ErrNotFound) {
		r := template.DeepCopy()
		if err := fn(r); err != nil {
			return fmt.Errorf("modify %s: %w", ref, err)
		}

		return rw.Create(ctx, r, opts...)
	}

	if err != nil {
		return err
	}

	if err := fn(cur); err != nil {
		return fmt.Errorf("modify %s: %w", ref, err)
	}

	return rw.Update(ctx, cur, opts...)
}

// ModifyTyped is Modify for a typed resource: fn receives the resource as
// *resource.Typed[S]. A stored resource of another Go type is an error.
func ModifyTyped[S any](ctx context.Context, rw ReadWriter, template *resource.Typed[S],
	fn func(*resource.Typed[S]) error, opts ...WriteOption,
) error {
	return Modify(ctx, rw, template, func(r resource.Resource) error {
		t, ok := r.(*resource.Typed[S])
		if !ok {
			return fmt.Errorf("stored resource is %T, not %T", r, template)
		}

		return fn(t)
	}, opts...)
}
