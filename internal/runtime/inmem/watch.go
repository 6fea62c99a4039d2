package inmem

import (
	"context"
	"fmt"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// batchSize bounds how many events a watcher copies per lock.
const batchSize = 64

// Watch follows one resource; see runtime.Watcher.
func (s *State) Watch(ctx context.Context, ref resource.Ref, ch chan<- runtime.Event, opts ...runtime.WatchOption) error {
	if ref.ID == "" {
		return fmt.Errorf("watch %s: id is empty", ref)
	}

	return s.watch(ctx, ref, ch, opts)
}

// WatchKind follows all resources of a namespace and type; see
// runtime.Watcher.
func (s *State) WatchKind(ctx context.Context, namespace, typ string, ch chan<- runtime.Event, opts ...runtime.WatchOption) error {
	return s.watch(ctx, resource.Ref{Namespace: namespace, Type: typ}, ch, opts)
}

// watcher delivers the events of one watch; id "" means the whole kind.
type watcher struct {
	ks  *kindStore
	id  string
	pos uint64 // seq of the last event looked at
	ch  chan<- runtime.Event
}

func (s *State) watch(ctx context.Context, ref resource.Ref, ch chan<- runtime.Event, opts []runtime.WatchOption) error {
	o := runtime.NewWatchOptions(opts...)
	if o.Bootstrap && o.Resume != nil {
		return fmt.Errorf("watch %s: bootstrap and resume exclude each other", ref)
	}

	w := &watcher{ks: s.kind(ref.Namespace, ref.Type, true), id: ref.ID, ch: ch}

	initial, err := w.start(o)
	if err != nil {
		return fmt.Errorf("watch %s: %w", ref, err)
	}

	go w.run(ctx, initial)

	return nil
}

// start fixes the watch's position and takes the initial listing under the
// same lock, so no change falls between them.
func (w *watcher) start(o runtime.WatchOptions) ([]runtime.Event, error) {
	w.ks.mu.Lock()
	defer w.ks.mu.Unlock()

	w.pos = w.ks.seq

	if o.Resume != nil {
		pos, err := w.ks.resumeFrom(o.Resume)
		if err != nil {
			return nil, err
		}

		w.pos = pos
	}

	if !o.Bootstrap {
		return nil, nil
	}

	items := make([]resource.Resource, 0, len(w.ks.items))
	for id, r := range w.ks.items {
		if w.id == "" || w.id == id {
			items = append(items, r)
		}
	}

	sortByID(items)

	mark := w.ks.bookmark(w.pos)
	events := make([]runtime.Event, 0, len(items)+1)

	for _, r := range items {
		events = append(events, runtime.Event{Type: runtime.Created, Resource: r, Bookmark: mark})
	}

	return append(events, runtime.Event{Type: runtime.Bootstrapped, Bookmark: mark}), nil
}

func (w *watcher) run(ctx context.Context, initial []runtime.Event) {
	for _, ev := range initial {
		if !w.send(ctx, ev) {
			return
		}
	}

	for {
		w.ks.mu.Lock()
		events, pos, notify, err := w.ks.readAfter(w.pos, w.id, batchSize)
		w.ks.mu.Unlock()

		if err != nil {
			w.send(ctx, runtime.Event{Type: runtime.Errored, Error: err})

			return
		}

		w.pos = pos

		for _, ev := range events {
			if !w.send(ctx, ev) {
				return
			}
		}

		if len(events) > 0 {
			continue
		}

		select {
		case <-ctx.Done():
			return
		case <-notify:
		}
	}
}

func (w *watcher) send(ctx context.Context, ev runtime.Event) bool {
	select {
	case <-ctx.Done():
		return false
	case w.ch <- ev:
		return true
	}
}
