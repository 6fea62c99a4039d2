package inmem_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/plinth-os/plinth/internal/runtime"
)

// BenchmarkStateUpdate measures one read-modify-write of a resource.
func BenchmarkStateUpdate(b *testing.B) {
	ctx := context.Background()
	st := newState()

	w := newWidget("a", 0)
	if err := st.Create(ctx, w); err != nil {
		b.Fatal(err)
	}

	b.ReportAllocs()

	for i := 0; b.Loop(); i++ {
		w.TypedSpec().Size = i + 1
		if err := st.Update(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWatchFanout measures one update delivered to every watcher of
// its kind.
func BenchmarkWatchFanout(b *testing.B) {
	for _, watchers := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("watchers=%d", watchers), func(b *testing.B) {
			benchFanout(b, watchers)
		})
	}
}

func benchFanout(b *testing.B, watchers int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	st := newState()

	w := newWidget("a", 0)
	if err := st.Create(ctx, w); err != nil {
		b.Fatal(err)
	}

	chans := make([]chan runtime.Event, watchers)
	for i := range chans {
		chans[i] = make(chan runtime.Event, 1)
		if err := st.WatchKind(ctx, ns, typ, chans[i]); err != nil {
			b.Fatal(err)
		}
	}

	b.ReportAllocs()

	for i := 0; b.Loop(); i++ {
		w.TypedSpec().Size = i + 1
		if err := st.Update(ctx, w); err != nil {
			b.Fatal(err)
		}

		for _, ch := range chans {
			if ev := <-ch; ev.Type != runtime.Updated {
				b.Fatalf("unexpected event %v", ev.Type)
			}
		}
	}
}
