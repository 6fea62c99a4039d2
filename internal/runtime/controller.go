package runtime

import (
	"context"
	"log/slog"
)

// InputKind says how a controller depends on an input.
type InputKind int

const (
	// InputWeak: the controller is triggered when the input changes and
	// reads it; it may not hold finalizers on it.
	InputWeak InputKind = iota
	// InputStrong: like weak, and the controller may add and remove
	// finalizers (named after itself) on the input's resources, to keep
	// them alive while its own outputs depend on them.
	InputStrong
	// InputDestroyReady: the controller is triggered only when a resource
	// of the input is tearing down with no finalizers left. Owners declare
	// their own outputs this way to finish their teardown promptly.
	InputDestroyReady
)

// Input is a namespace and type a controller reads, optionally one ID.
type Input struct {
	Namespace string
	Type      string
	// ID, when set, limits the trigger to that one resource.
	ID   string
	Kind InputKind
}

// OutputKind says whether other controllers may write the same type.
type OutputKind int

const (
	// OutputExclusive: this controller is the only writer of the type; the
	// engine refuses a second controller declaring it.
	OutputExclusive OutputKind = iota
	// OutputShared: several controllers write the type, each owning its own
	// resources.
	OutputShared
)

// Output is a resource type a controller writes, in any namespace.
type Output struct {
	Type string
	Kind OutputKind
}

// Controller turns its inputs into its outputs. Run loops until ctx is
// cancelled:
//
//	for {
//		select {
//		case <-ctx.Done():
//			return nil
//		case <-r.EventCh():
//		}
//		// read inputs through r, write outputs through r
//	}
//
// The engine sends one event when the controller starts and one whenever an
// input changed since the previous one was received (bursts coalesce).
// Returning an error or panicking restarts Run after a backoff; returning
// nil before ctx is cancelled stops the controller for good.
type Controller interface {
	// Name is unique among controllers and becomes the owner of outputs.
	Name() string
	// Inputs lists what triggers the controller and what it may read.
	Inputs() []Input
	// Outputs lists the types the controller may write.
	Outputs() []Output
	// Run reconciles on each event until ctx is cancelled.
	Run(ctx context.Context, r ControllerRuntime, logger *slog.Logger) error
}

// ControllerRuntime is a controller's view of the state. Reads are limited
// to the declared input and output types; writes to the output types (any
// write option naming another owner is overridden); finalizers to strong
// inputs, under the controller's name. Violations fail with ErrUndeclared.
type ControllerRuntime interface {
	ReadWriter
	// EventCh delivers the coalesced triggers.
	EventCh() <-chan struct{}
	// Owner is the controller's name, the owner of what it writes.
	Owner() string
}
