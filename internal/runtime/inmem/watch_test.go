package inmem_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/runtime/inmem"
)

// receive reads n events or fails after a generous timeout.
func receive(t *testing.T, ch <-chan runtime.Event, n int) []runtime.Event {
	t.Helper()

	out := make([]runtime.Event, 0, n)
	deadline := time.After(timeout)

	for len(out) < n {
		select {
		case ev := <-ch:
			out = append(out, ev)
		case <-deadline:
			t.Fatalf("got %d events, want %d: %s", len(out), n, describe(out))
		}
	}

	return out
}

// describe renders events as "type:id@version" for comparisons.
func describe(events []runtime.Event) string {
	s := ""

	for i, ev := range events {
		if i > 0 {
			s += " "
		}

		s += ev.Type.String()
		if ev.Resource != nil {
			s += fmt.Sprintf(":%s@%d", ev.Resource.Metadata().ID, ev.Resource.Metadata().Version)
		}

		if ev.Old != nil {
			s += fmt.Sprintf("<%d", ev.Old.Metadata().Version)
		}
	}

	return s
}

func mustCreate(t *testing.T, st *inmem.State, id string, size int) {
	t.Helper()

	if err := st.Create(context.Background(), newWidget(id, size)); err != nil {
		t.Fatal(err)
	}
}

func mustResize(t *testing.T, st *inmem.State, id string, size int) {
	t.Helper()

	err := runtime.ModifyTyped(context.Background(), st, newWidget(id, 0), func(w *widget) error {
		w.TypedSpec().Size = size

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWatchKindBootstrapThenLive(t *testing.T) {
	ctx := t.Context()
	st := newState()

	mustCreate(t, st, "b", 1)
	mustCreate(t, st, "a", 1)

	ch := make(chan runtime.Event)
	if err := st.WatchKind(ctx, ns, typ, ch, runtime.WithBootstrap()); err != nil {
		t.Fatal(err)
	}

	got := describe(receive(t, ch, 3))
	if want := "created:a@1 created:b@1 bootstrapped"; got != want {
		t.Fatalf("initial listing %q, want %q", got, want)
	}

	mustCreate(t, st, "c", 1)
	mustResize(t, st, "a", 2)

	if err := st.Destroy(ctx, ref("b")); err != nil {
		t.Fatal(err)
	}

	got = describe(receive(t, ch, 3))
	if want := "created:c@1 updated:a@2<1 destroyed:b@1"; got != want {
		t.Fatalf("live events %q, want %q", got, want)
	}
}

func TestWatchOneResource(t *testing.T) {
	ctx := t.Context()
	st := newState()

	mustCreate(t, st, "a", 1)

	ch := make(chan runtime.Event, 16)
	if err := st.Watch(ctx, ref("a"), ch, runtime.WithBootstrap()); err != nil {
		t.Fatal(err)
	}

	mustCreate(t, st, "other", 1)
	mustResize(t, st, "other", 2)
	mustResize(t, st, "a", 2)

	got := describe(receive(t, ch, 3))
	if want := "created:a@1 bootstrapped updated:a@2<1"; got != want {
		t.Fatalf("events %q, want %q", got, want)
	}

	if err := st.Watch(ctx, ref(""), ch); err == nil {
		t.Fatal("watch without id accepted")
	}
}

func TestWatchOrdering(t *testing.T) {
	ctx := t.Context()
	st := newState()

	ch := make(chan runtime.Event, 8)
	if err := st.WatchKind(ctx, ns, typ, ch); err != nil {
		t.Fatal(err)
	}

	const n = 200

	done := make(chan struct{})

	go func() {
		defer close(done)

		for i := range n {
			// Errors surface as missing events below.
			_ = runtime.ModifyTyped(context.Background(), st, newWidget("a", 0), func(w *widget) error {
				w.TypedSpec().Size = i

				return nil
			})
		}
	}()

	for i, ev := range receive(t, ch, n) {
		if v := ev.Resource.Metadata().Version; v != uint64(i+1) {
			t.Fatalf("event %d has version %d: out of order", i, v)
		}
	}

	<-done
}

func TestWatchResumeFromBookmark(t *testing.T) {
	st := newState()

	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan runtime.Event, 16)

	if err := st.WatchKind(ctx, ns, typ, ch, runtime.WithBootstrap()); err != nil {
		t.Fatal(err)
	}

	boot := receive(t, ch, 1)[0]

	mustCreate(t, st, "a", 1)
	mustResize(t, st, "a", 2)

	first := receive(t, ch, 2)
	cancel()

	// Changes made while nobody watches.
	mustResize(t, st, "a", 3)
	mustCreate(t, st, "b", 1)

	tests := []struct {
		name string
		from runtime.Bookmark
		want string
	}{
		{"from bootstrap", boot.Bookmark, "created:a@1 updated:a@2<1 updated:a@3<2 created:b@1"},
		{"from first event", first[0].Bookmark, "updated:a@2<1 updated:a@3<2 created:b@1"},
		{"from last seen", first[1].Bookmark, "updated:a@3<2 created:b@1"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := make(chan runtime.Event, 16)
			if err := st.WatchKind(t.Context(), ns, typ, ch, runtime.WithResume(tt.from)); err != nil {
				t.Fatal(err)
			}

			n := len(strings.Fields(tt.want))
			if got := describe(receive(t, ch, n)); got != tt.want {
				t.Fatalf("resumed events %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWatchResumeErrors(t *testing.T) {
	ctx := t.Context()
	st := newState(inmem.WithHistory(4))

	ch := make(chan runtime.Event, 16)
	if err := st.WatchKind(ctx, ns, typ, ch); err != nil {
		t.Fatal(err)
	}

	mustCreate(t, st, "a", 0)

	early := receive(t, ch, 1)[0].Bookmark

	for i := 1; i <= 4; i++ {
		mustResize(t, st, "a", i)
	}

	// Exactly the history's worth of events after the bookmark: still fine.
	if err := st.WatchKind(ctx, ns, typ, make(chan runtime.Event, 8), runtime.WithResume(early)); err != nil {
		t.Fatalf("resume within history: %v", err)
	}

	mustResize(t, st, "a", 5)

	other := make(chan runtime.Event, 1)
	if err := st.WatchKind(ctx, ns, "Others.test.plinth.dev", other, runtime.WithBootstrap()); err != nil {
		t.Fatal(err)
	}

	otherMark := receive(t, other, 1)[0].Bookmark

	tests := []struct {
		name string
		opts []runtime.WatchOption
		want error
	}{
		{"too old", []runtime.WatchOption{runtime.WithResume(early)}, runtime.ErrBookmarkTooOld},
		{"garbage", []runtime.WatchOption{runtime.WithResume(runtime.Bookmark("garbage"))}, runtime.ErrInvalidBookmark},
		{"another kind's", []runtime.WatchOption{runtime.WithResume(otherMark)}, runtime.ErrInvalidBookmark},
		{"with bootstrap", []runtime.WatchOption{runtime.WithResume(early), runtime.WithBootstrap()}, nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := st.WatchKind(ctx, ns, typ, make(chan runtime.Event), tt.opts...)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestWatchOverflow: a consumer that does not read never blocks writers; its
// watch ends with an overflow error once it is further behind than the
// history.
func TestWatchOverflow(t *testing.T) {
	ctx := t.Context()
	st := newState(inmem.WithHistory(4))

	ch := make(chan runtime.Event) // unbuffered and not read while writing
	if err := st.WatchKind(ctx, ns, typ, ch); err != nil {
		t.Fatal(err)
	}

	mustCreate(t, st, "a", 0)

	// More changes than one batch plus the history: whatever batch the
	// watcher holds, it ends far behind.
	for i := 1; i < 200; i++ {
		mustResize(t, st, "a", i)
	}

	deadline := time.After(timeout)

	for n := 0; ; n++ {
		select {
		case ev := <-ch:
			if ev.Type == runtime.Errored {
				if !errors.Is(ev.Error, runtime.ErrWatchOverflow) {
					t.Fatalf("error event %v, want overflow", ev.Error)
				}

				if n > 64 {
					t.Fatalf("%d events delivered before the overflow, want at most one batch", n)
				}

				return
			}

			if v := ev.Resource.Metadata().Version; v != uint64(n+1) {
				t.Fatalf("event %d has version %d", n, v)
			}
		case <-deadline:
			t.Fatal("no overflow error")
		}
	}
}

func TestWatchEndsOnCancel(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	st := newState()
	ctx, cancel := context.WithCancel(t.Context())

	blocked := make(chan runtime.Event) // the watcher will block sending on it
	idle := make(chan runtime.Event)    // the watcher will wait for changes

	if err := st.WatchKind(ctx, ns, typ, blocked); err != nil {
		t.Fatal(err)
	}

	if err := st.Watch(ctx, ref("z"), idle, runtime.WithBootstrap()); err != nil {
		t.Fatal(err)
	}

	receive(t, idle, 1) // bootstrapped
	mustCreate(t, st, "a", 1)
	cancel()
}
