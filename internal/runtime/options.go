package runtime

import "github.com/plinth-os/plinth/pkg/machinery/resource"

// WriteOptions are the resolved options of a write.
type WriteOptions struct {
	// Owner is the writer's name; empty for the user or machined.
	Owner string
	// AnyPhase lets Update change a tearing-down resource.
	AnyPhase bool
}

// WriteOption changes WriteOptions.
type WriteOption func(*WriteOptions)

// WithOwner names the writer: the owner of created resources, and the only
// writer allowed to update or destroy them.
func WithOwner(owner string) WriteOption {
	return func(o *WriteOptions) { o.Owner = owner }
}

// WithAnyPhase lets Update change a resource that is tearing down.
func WithAnyPhase() WriteOption {
	return func(o *WriteOptions) { o.AnyPhase = true }
}

// NewWriteOptions resolves opts, later options winning.
func NewWriteOptions(opts ...WriteOption) WriteOptions {
	var o WriteOptions
	for _, opt := range opts {
		opt(&o)
	}

	return o
}

// ListOptions are the resolved options of a List.
type ListOptions struct {
	// Selector keeps only resources whose labels match.
	Selector resource.Selector
}

// ListOption changes ListOptions.
type ListOption func(*ListOptions)

// WithLabels keeps only resources whose labels match sel.
func WithLabels(sel resource.Selector) ListOption {
	return func(o *ListOptions) { o.Selector = sel }
}

// NewListOptions resolves opts.
func NewListOptions(opts ...ListOption) ListOptions {
	var o ListOptions
	for _, opt := range opts {
		opt(&o)
	}

	return o
}

// WatchOptions are the resolved options of a watch.
type WatchOptions struct {
	// Bootstrap sends a Created event for each existing resource, sorted by
	// ID, then a Bootstrapped event, before live events.
	Bootstrap bool
	// Resume starts after the given bookmark instead of now.
	Resume Bookmark
}

// WatchOption changes WatchOptions.
type WatchOption func(*WatchOptions)

// WithBootstrap asks for the initial listing.
func WithBootstrap() WatchOption {
	return func(o *WatchOptions) { o.Bootstrap = true }
}

// WithResume continues a previous watch after bookmark b, without missing
// or repeating events, as long as they are still in the history (else the
// watch fails with ErrBookmarkTooOld). It excludes WithBootstrap.
func WithResume(b Bookmark) WatchOption {
	return func(o *WatchOptions) { o.Resume = b }
}

// NewWatchOptions resolves opts.
func NewWatchOptions(opts ...WatchOption) WatchOptions {
	var o WatchOptions
	for _, opt := range opts {
		opt(&o)
	}

	return o
}
