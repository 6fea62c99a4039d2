// Package inmem is the in-memory implementation of runtime.State: resources
// grouped by namespace and type, each group with its own lock and a bounded
// history of events that serves watches and bookmarks.
package inmem

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// DefaultHistory is the number of events kept per namespace and type. The
// history holds references to the resources of those events, so it also
// bounds the memory a busy type keeps alive.
const DefaultHistory = 1024

// State is an in-memory runtime.State, safe for concurrent use.
type State struct {
	mu      sync.Mutex
	kinds   map[kindKey]*kindStore
	history int
	now     func() time.Time
}

var _ runtime.State = (*State)(nil)

// Option configures a State.
type Option func(*State)

// WithHistory sets how many events each namespace and type keeps for
// watchers and bookmarks (at least 1).
func WithHistory(n int) Option {
	return func(s *State) { s.history = max(n, 1) }
}

// WithClock replaces time.Now for the Created and Updated times.
func WithClock(now func() time.Time) Option {
	return func(s *State) { s.now = now }
}

// New returns an empty state.
func New(opts ...Option) *State {
	s := &State{kinds: map[kindKey]*kindStore{}, history: DefaultHistory, now: time.Now}
	for _, opt := range opts {
		opt(s)
	}

	return s
}

type kindKey struct {
	namespace, typ string
}

// kind returns the store of a namespace and type, creating it when create
// is set; else it may return nil.
func (s *State) kind(namespace, typ string, create bool) *kindStore {
	s.mu.Lock()
	defer s.mu.Unlock()

	k := kindKey{namespace, typ}

	ks := s.kinds[k]
	if ks == nil && create {
		ks = newKindStore(s.history)
		s.kinds[k] = ks
	}

	return ks
}

// Get returns a copy of one resource.
func (s *State) Get(_ context.Context, ref resource.Ref) (resource.Resource, error) {
	if ks := s.kind(ref.Namespace, ref.Type, false); ks != nil {
		ks.mu.Lock()
		defer ks.mu.Unlock()

		if r, ok := ks.items[ref.ID]; ok {
			return r.DeepCopy(), nil
		}
	}

	return nil, fmt.Errorf("get %s: %w", ref, runtime.ErrNotFound)
}

// List returns copies of the matching resources of a namespace and type,
// sorted by ID.
func (s *State) List(_ context.Context, namespace, typ string, opts ...runtime.ListOption) ([]resource.Resource, error) {
	o := runtime.NewListOptions(opts...)

	ks := s.kind(namespace, typ, false)
	if ks == nil {
		return nil, nil
	}

	ks.mu.Lock()
	defer ks.mu.Unlock()

	out := make([]resource.Resource, 0, len(ks.items))
	for _, r := range ks.items {
		if o.Selector.Matches(r.Metadata().Labels) {
			out = append(out, r.DeepCopy())
		}
	}

	sortByID(out)

	return out, nil
}

func sortByID(rs []resource.Resource) {
	slices.SortFunc(rs, func(a, b resource.Resource) int {
		return cmp.Compare(a.Metadata().ID, b.Metadata().ID)
	})
}
