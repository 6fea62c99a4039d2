package runtime

import (
	"context"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// Reader reads resources. Returned resources are copies the caller owns.
type Reader interface {
	// Get returns one resource, or an error wrapping ErrNotFound.
	Get(ctx context.Context, ref resource.Ref) (resource.Resource, error)
	// List returns the resources of a namespace and type, sorted by ID.
	List(ctx context.Context, namespace, typ string, opts ...ListOption) ([]resource.Resource, error)
}

// Writer changes resources. Every accepted change bumps the version and is
// reported to watchers; see the lifecycle in pkg/machinery/resource.
//
// Ownership: the writer is named by WithOwner (empty: the user or machined).
// Create records it as the owner; Update, Teardown and Destroy by anyone else
// fail with ErrOwnerConflict. Finalizers may be added and removed by anyone.
type Writer interface {
	// Create stores a new resource at version 1, running, owned by the
	// writer. On success r's metadata is set to the stored metadata.
	Create(ctx context.Context, r resource.Resource, opts ...WriteOption) error
	// Update replaces the spec and labels of an existing resource. The
	// version in r's metadata must be the current one (optimistic
	// concurrency; else ErrVersionConflict). Phase, owner and finalizers
	// change only through their own methods. A tearing-down resource is
	// refused with ErrPhaseConflict unless WithAnyPhase is given. An update
	// that changes nothing is accepted without a new version or event. On
	// success r's metadata is set to the stored metadata.
	Update(ctx context.Context, r resource.Resource, opts ...WriteOption) error
	// Teardown moves a resource to tearing-down (idempotent) and reports
	// whether it is ready to be destroyed, i.e. has no finalizers.
	Teardown(ctx context.Context, ref resource.Ref, opts ...WriteOption) (bool, error)
	// Destroy removes a resource that has no finalizers, in either phase;
	// with finalizers it fails with ErrPhaseConflict.
	Destroy(ctx context.Context, ref resource.Ref, opts ...WriteOption) error
	// AddFinalizers adds the missing names; refused with ErrPhaseConflict
	// while tearing down.
	AddFinalizers(ctx context.Context, ref resource.Ref, names ...string) error
	// RemoveFinalizers removes the names present, in any phase.
	RemoveFinalizers(ctx context.Context, ref resource.Ref, names ...string) error
}

// Watcher streams changes to ch until ctx is cancelled. The call returns
// once the watch is set up; events then arrive in the order the state
// accepted the changes. The channel is never closed: several watches may
// share one.
//
// Writers never wait for watchers. Each namespace and type keeps a bounded
// history of its recent events; a watcher whose consumer falls further behind
// than that history gets one Errored event wrapping ErrWatchOverflow (once
// its consumer reads again) and ends. The same history serves WithResume.
type Watcher interface {
	// Watch follows one resource.
	Watch(ctx context.Context, ref resource.Ref, ch chan<- Event, opts ...WatchOption) error
	// WatchKind follows all resources of a namespace and type.
	WatchKind(ctx context.Context, namespace, typ string, ch chan<- Event, opts ...WatchOption) error
}

// State is the store of resources machined and its controllers share.
type State interface {
	Reader
	Writer
	Watcher
}
