package events_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/events"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errEnough = errors.New("enough")

// collect watches r with tail until n events arrived.
func collect(t *testing.T, r *events.Ring, tail, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	err := r.Watch(ctx, tail, func(ev *machine.Event) error {
		got = append(got, ev.GetConfig().GetMessage())
		if len(got) == n {
			return errEnough
		}
		return nil
	})
	if n > 0 && !errors.Is(err, errEnough) {
		t.Fatalf("Watch = %v after %v", err, got)
	}
	return got
}

func TestTailAndOverflow(t *testing.T) {
	r := events.New(3, nil)
	for _, m := range []string{"a", "b", "c", "d"} {
		r.Publish(events.Config(m))
	}
	if got := collect(t, r, -1, 3); len(got) != 3 || got[0] != "b" || got[2] != "d" {
		t.Fatalf("all kept = %v, want [b c d]", got)
	}
	if got := collect(t, r, 2, 2); got[0] != "c" || got[1] != "d" {
		t.Fatalf("tail 2 = %v, want [c d]", got)
	}
	if got := collect(t, r, 10, 3); got[0] != "b" {
		t.Fatalf("tail 10 = %v, want to start at b", got)
	}
}

func TestFollow(t *testing.T) {
	r := events.New(10, nil)
	r.Publish(events.Config("old"))
	done := make(chan []string)
	go func() { done <- collect(t, r, 0, 2) }()
	// Publish until the watcher has seen two new events; it may start after
	// some of them, which tail 0 then skips.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case got := <-done:
			for _, g := range got {
				if g == "old" {
					t.Fatalf("tail 0 replayed an old event: %v", got)
				}
			}
			return
		case <-tick.C:
			r.Publish(events.Config("new"))
		}
	}
}

func TestIDsAndCancel(t *testing.T) {
	r := events.New(0, func() time.Time { return time.Unix(100, 0) })
	r.Publish(events.Status("running", true))
	r.Publish(events.Sequence("boot", machine.SequenceEvent_START, nil))
	var ids []string
	ctx, cancel := context.WithCancel(context.Background())
	err := r.Watch(ctx, -1, func(ev *machine.Event) error {
		ids = append(ids, ev.GetId())
		if ev.GetTime().AsTime().Unix() != 100 {
			t.Errorf("time = %v", ev.GetTime().AsTime())
		}
		if len(ids) == 2 {
			cancel()
		}
		return nil
	})
	if err != nil || len(ids) != 2 || ids[0] != "1" || ids[1] != "2" {
		t.Fatalf("Watch = %v, ids %v", err, ids)
	}
}
