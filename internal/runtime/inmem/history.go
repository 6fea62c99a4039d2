package inmem

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// entry is one event in a kind's history; seq numbers start at 1.
type entry struct {
	typ      runtime.EventType
	res, old resource.Resource
	seq      uint64
}

// kindStore holds the resources of one namespace and type and a ring of
// their last events. Stored resources are never mutated: a change stores a
// new copy, so events can share them with every watcher.
type kindStore struct {
	mu     sync.Mutex
	items  map[string]resource.Resource
	ring   []entry
	seq    uint64        // seq of the last event, 0 before any
	epoch  uint64        // tells this store's bookmarks from any other's
	notify chan struct{} // closed and replaced by every event
}

// epochs makes store epochs unique within the process and, seeded by the
// clock, unlikely to repeat across restarts of machined.
var epochs atomic.Uint64

func init() {
	epochs.Store(uint64(time.Now().UnixNano()))
}

func newKindStore(history int) *kindStore {
	return &kindStore{
		items:  map[string]resource.Resource{},
		ring:   make([]entry, history),
		epoch:  epochs.Add(1),
		notify: make(chan struct{}),
	}
}

// record appends an event and wakes the watchers. Caller holds mu.
func (k *kindStore) record(typ runtime.EventType, res, old resource.Resource) {
	k.seq++
	k.ring[(k.seq-1)%uint64(len(k.ring))] = entry{typ: typ, res: res, old: old, seq: k.seq}

	close(k.notify)
	k.notify = make(chan struct{})
}

// oldest is the seq of the oldest event still in the ring. Caller holds mu.
func (k *kindStore) oldest() uint64 {
	n := uint64(len(k.ring))
	if k.seq <= n {
		return 1
	}

	return k.seq - n + 1
}

func (k *kindStore) bookmark(seq uint64) runtime.Bookmark {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b[:8], k.epoch)
	binary.BigEndian.PutUint64(b[8:], seq)

	return b
}

// resumeFrom returns the position (last seq seen) a bookmark stands for.
// Caller holds mu.
func (k *kindStore) resumeFrom(b runtime.Bookmark) (uint64, error) {
	if len(b) != 16 || binary.BigEndian.Uint64(b[:8]) != k.epoch {
		return 0, runtime.ErrInvalidBookmark
	}

	seq := binary.BigEndian.Uint64(b[8:])
	if seq > k.seq {
		return 0, fmt.Errorf("%w: position %d is ahead of the history", runtime.ErrInvalidBookmark, seq)
	}

	if seq+1 < k.oldest() {
		return 0, fmt.Errorf("%w: position %d, oldest kept event %d", runtime.ErrBookmarkTooOld, seq, k.oldest())
	}

	return seq, nil
}

// readAfter returns up to limit events for id ("" for all) after position
// pos, the new position, and the channel that the next event will close.
// A position that fell out of the ring is an overflow. Caller holds mu.
func (k *kindStore) readAfter(pos uint64, id string, limit int) ([]runtime.Event, uint64, <-chan struct{}, error) {
	if pos+1 < k.oldest() {
		return nil, pos, nil, fmt.Errorf("%w: %d events behind, history holds %d",
			runtime.ErrWatchOverflow, k.seq-pos, len(k.ring))
	}

	var out []runtime.Event

	for pos < k.seq && len(out) < limit {
		pos++

		e := k.ring[(pos-1)%uint64(len(k.ring))]
		if id != "" && e.res.Metadata().ID != id {
			continue
		}

		out = append(out, runtime.Event{Type: e.typ, Resource: e.res, Old: e.old, Bookmark: k.bookmark(e.seq)})
	}

	return out, pos, k.notify, nil
}
