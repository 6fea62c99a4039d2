// Package events keeps machined's recent events (sequences, phases,
// services, config changes, machine status) in a bounded in-memory ring
// that the Events RPC replays and follows.
package events

import (
	"context"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plinth-os/plinth/api/machine"
)

// DefaultCapacity is the number of events kept when none is configured.
const DefaultCapacity = 1000

// Publisher accepts events. machined's parts publish through it.
type Publisher interface {
	// Publish records an event; only its payload needs to be set.
	Publish(ev *machine.Event)
}

// Ring is a bounded, ordered log of events. Publish never blocks on
// readers; a reader that falls behind skips to the oldest event still held.
// It is safe for concurrent use.
type Ring struct {
	now func() time.Time

	mu      sync.Mutex
	buf     []*machine.Event
	next    uint64 // number of events published so far
	changed chan struct{}
}

// New returns a ring keeping the last capacity events (DefaultCapacity
// when capacity <= 0). now stamps events; nil means time.Now.
func New(capacity int, now func() time.Time) *Ring {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	if now == nil {
		now = time.Now
	}
	return &Ring{now: now, buf: make([]*machine.Event, capacity), changed: make(chan struct{})}
}

// Publish stamps ev with an id and the time, and appends it. The ring keeps
// ev: callers must not change it afterwards.
func (r *Ring) Publish(ev *machine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev.Id = strconv.FormatUint(r.next+1, 10)
	ev.Time = timestamppb.New(r.now())
	r.buf[r.next%uint64(len(r.buf))] = ev
	r.next++
	close(r.changed)
	r.changed = make(chan struct{})
}

// oldestLocked is the position of the oldest event held.
func (r *Ring) oldestLocked() uint64 {
	if n := uint64(len(r.buf)); r.next > n {
		return r.next - n
	}
	return 0
}

// Watch calls emit with the last tail events (all held when tail < 0, none
// when 0), then with every new event, until ctx is done (it then returns
// nil) or emit fails (its error is returned). Events are shared: emit must
// not change them.
func (r *Ring) Watch(ctx context.Context, tail int, emit func(*machine.Event) error) error {
	r.mu.Lock()
	pos := r.oldestLocked()
	if tail >= 0 && r.next-pos > uint64(tail) {
		pos = r.next - uint64(tail)
	}
	r.mu.Unlock()
	for {
		batch, changed, newPos := r.since(pos)
		pos = newPos
		for _, ev := range batch {
			if err := emit(ev); err != nil {
				return err
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// since returns the events from pos on (skipping those overwritten), a
// channel closed at the next publish, and the position after the batch.
func (r *Ring) since(pos uint64) ([]*machine.Event, <-chan struct{}, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pos = max(pos, r.oldestLocked())
	out := make([]*machine.Event, 0, r.next-pos)
	for ; pos < r.next; pos++ {
		out = append(out, r.buf[pos%uint64(len(r.buf))])
	}
	return out, r.changed, pos
}

// Sequence returns a sequence start or stop event; err may be nil.
func Sequence(name string, action machine.SequenceEvent_Action, err error) *machine.Event {
	return &machine.Event{Payload: &machine.Event_Sequence{Sequence: &machine.SequenceEvent{
		Sequence: name, Action: action, Error: errString(err),
	}}}
}

// Phase returns a phase start or stop event; err may be nil.
func Phase(seq, phase string, action machine.PhaseEvent_Action, err error) *machine.Event {
	return &machine.Event{Payload: &machine.Event_Phase{Phase: &machine.PhaseEvent{
		Sequence: seq, Phase: phase, Action: action, Error: errString(err),
	}}}
}

// Config returns an event saying what happened to the machine config.
func Config(message string) *machine.Event {
	return &machine.Event{Payload: &machine.Event_Config{Config: &machine.ConfigEvent{Message: message}}}
}

// Status returns a machine status event.
func Status(stage string, ready bool) *machine.Event {
	return &machine.Event{Payload: &machine.Event_Status{Status: &machine.MachineStatusEvent{Stage: stage, Ready: ready}}}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
