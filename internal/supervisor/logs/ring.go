// Package logs holds the output of supervised services: a bounded in-memory
// ring per service that can be tailed and followed, optionally mirrored to a
// size-rotated file.
package logs

import (
	"context"
	"io"
	"sync"
)

// DefaultSize is the ring capacity used when none is configured: 1 MiB.
const DefaultSize = 1 << 20

// Ring is a fixed-capacity byte buffer that keeps the most recent output.
// Positions are absolute byte offsets since the ring was created, so a reader
// that falls behind the overwritten region notices and skips ahead.
//
// A Ring is safe for concurrent use by one or more writers and any number of
// readers.
type Ring struct {
	mu     sync.Mutex
	buf    []byte
	end    uint64        // total bytes ever written
	wake   chan struct{} // closed on the next write; nil when nobody waits
	closed bool
}

// NewRing returns a ring that keeps the last size bytes. A size of zero or
// less selects DefaultSize.
func NewRing(size int) *Ring {
	if size <= 0 {
		size = DefaultSize
	}
	return &Ring{buf: make([]byte, size)}
}

// Write appends p, overwriting the oldest bytes when the ring is full. It
// never fails; after Close it discards p.
func (r *Ring) Write(p []byte) (int, error) {
	n := len(p)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || n == 0 {
		return n, nil
	}
	size := len(r.buf)
	r.end += uint64(n)
	if len(p) > size {
		p = p[len(p)-size:]
	}
	off := int((r.end - uint64(len(p))) % uint64(size))
	c := copy(r.buf[off:], p)
	copy(r.buf, p[c:])
	r.wakeLocked()
	return n, nil
}

// Close wakes every follower; they return io.EOF once they have read what
// is buffered. Later writes are discarded.
func (r *Ring) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.wakeLocked()
	return nil
}

func (r *Ring) wakeLocked() {
	if r.wake != nil {
		close(r.wake)
		r.wake = nil
	}
}

// startLocked is the oldest absolute offset still held.
func (r *Ring) startLocked() uint64 {
	if size := uint64(len(r.buf)); r.end > size {
		return r.end - size
	}
	return 0
}

func (r *Ring) byteAt(pos uint64) byte {
	return r.buf[pos%uint64(len(r.buf))]
}

// copyLocked copies bytes from absolute offset pos (which must be held) into
// dst and returns how many were copied.
func (r *Ring) copyLocked(dst []byte, pos uint64) int {
	avail := r.end - pos
	if uint64(len(dst)) > avail {
		dst = dst[:avail]
	}
	size := uint64(len(r.buf))
	off := pos % size
	c := copy(dst, r.buf[off:])
	c += copy(dst[c:], r.buf)
	return c
}

// tailStartLocked returns the offset at which the last n lines begin; n < 0
// means everything held. When the ring has wrapped, the partial line at its
// oldest edge is skipped unless it is the only line.
func (r *Ring) tailStartLocked(n int) uint64 {
	start, pos := r.startLocked(), r.end
	if n == 0 {
		return pos
	}
	if n > 0 {
		if pos > start && r.byteAt(pos-1) == '\n' {
			pos-- // the final newline ends the last line; it does not start one
		}
		for lines := 0; pos > start; pos-- {
			if r.byteAt(pos-1) == '\n' {
				if lines++; lines == n {
					return pos
				}
			}
		}
	}
	if start == 0 {
		return 0
	}
	for pos = start; pos+1 < r.end; pos++ {
		if r.byteAt(pos) == '\n' {
			return pos + 1
		}
	}
	return start // a single truncated line beats showing nothing
}

// Tail returns a copy of the last n lines (all held lines when n < 0). A
// final line without a newline counts as a line.
func (r *Ring) Tail(n int) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	from := r.tailStartLocked(n)
	out := make([]byte, r.end-from)
	r.copyLocked(out, from)
	return out
}

// Follow returns a reader that first yields the last tail lines (all held
// lines when tail < 0, none when tail is 0) and then blocks for new output.
// Its Read returns io.EOF once ctx is done or the ring is closed and drained.
func (r *Ring) Follow(ctx context.Context, tail int) *Reader {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &Reader{ring: r, ctx: ctx, pos: r.tailStartLocked(tail)}
}

// Reader follows a Ring. It is not safe for concurrent use.
type Reader struct {
	ring *Ring
	ctx  context.Context
	pos  uint64
}

// Read copies buffered output into p, blocking while there is none. If the
// reader fell behind and output was overwritten, it resumes at the oldest
// byte still held.
func (rd *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r := rd.ring
	for {
		r.mu.Lock()
		if start := r.startLocked(); rd.pos < start {
			rd.pos = start
		}
		if rd.pos < r.end {
			n := r.copyLocked(p, rd.pos)
			rd.pos += uint64(n)
			r.mu.Unlock()
			return n, nil
		}
		if r.closed {
			r.mu.Unlock()
			return 0, io.EOF
		}
		if r.wake == nil {
			r.wake = make(chan struct{})
		}
		wake := r.wake
		r.mu.Unlock()
		select {
		case <-wake:
		case <-rd.ctx.Done():
			return 0, io.EOF
		}
	}
}
