// Package meta keeps a small key/value record on the META partition so
// that it survives power cuts.
//
// # Format
//
// The area (the whole partition, 1 MiB on an installed disk) is split into
// two halves of equal size. Each half holds at most one copy of the record,
// at the start of the half:
//
//	┌──────────── half 0 ────────────┬──────────── half 1 ────────────┐
//	│ header │ payload │ (unused)    │ header │ payload │ (unused)    │
//	└────────────────────────────────┴────────────────────────────────┘
//
// A header is 32 bytes, integers little-endian: the magic "PLNTMETA", the
// format version (1, uint32), the payload length (uint32), the sequence
// number (uint64, 1 for the first copy ever written), four reserved zero
// bytes, and the CRC32C (Castagnoli) of the header's first 28 bytes followed
// by the payload. The payload is a JSON object of strings with its keys
// sorted; it must fit in the half after the header.
//
// # Reading and writing
//
// Load reads both halves and returns the valid copy with the higher
// sequence number. Save writes the new record, with the sequence number one
// above the newest valid copy, in one write into the other half, and then
// syncs the device. So a write that is cut short (power loss, crash) can only
// damage the older copy; the newest complete record is still there:
//
//	Save n ──▶ half A holds seq n, half B holds seq n-1
//	Save n+1 ─▶ writes half B ──torn──▶ B corrupt: Load returns seq n (half A)
//	                          └─done──▶ Load returns seq n+1 (half B)
//
// A half whose header is all zero is blank (never written). When neither half
// holds a valid copy, Load returns empty Values: with no error when both are
// blank (a fresh partition), and with an error wrapping ErrCorrupt when
// something was written but nothing valid is left, so the caller decides
// whether to start over (the next Save writes a fresh record with sequence 1).
package meta

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// MinSize is the smallest area Open accepts.
const MinSize = 8 << 10

// ErrCorrupt says that the area holds data but no valid copy of the record.
var ErrCorrupt = errors.New("meta: no valid copy of the record (area corrupt)")

// Values is the record: keys and their values.
type Values map[string]string

// Device is where the area lives: a partition or a file, read and written
// at offsets. A Device that also has a Sync() error method is synced after
// every Save (*os.File has one).
type Device interface {
	io.ReaderAt
	io.WriterAt
}

// Store reads and writes the record of one area. It is safe for concurrent
// use.
type Store struct {
	mu   sync.Mutex
	dev  Device
	half int64
}

// Open returns the store of the area of size bytes at the start of dev.
// size must be even and at least MinSize.
func Open(dev Device, size int64) (*Store, error) {
	if size < MinSize {
		return nil, fmt.Errorf("meta: area of %d bytes is smaller than the minimum %d", size, MinSize)
	}
	if size%2 != 0 {
		return nil, fmt.Errorf("meta: area size %d is odd, want an even size", size)
	}
	return &Store{dev: dev, half: size / 2}, nil
}

// Load returns the newest valid record. See the package comment for what it
// returns when there is none.
func (s *Store) Load() (Values, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	halves, err := s.readHalves()
	if err != nil {
		return Values{}, err
	}
	if i := newest(halves); i >= 0 {
		return halves[i].values, nil
	}
	if halves[0].state == stateBlank && halves[1].state == stateBlank {
		return Values{}, nil
	}
	return Values{}, fmt.Errorf("%w: half 0: %s; half 1: %s", ErrCorrupt, describe(halves[0]), describe(halves[1]))
}

// Save writes v as the new record, into the half that does not hold the
// newest valid copy, and syncs the device. A record too large for a half is
// refused and nothing is written.
func (s *Store) Save(v Values) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	halves, err := s.readHalves()
	if err != nil {
		return err
	}
	seq, target := uint64(1), 0
	if i := newest(halves); i >= 0 {
		seq, target = halves[i].seq+1, 1-i
	}
	b, err := encodeCopy(v, seq)
	if err != nil {
		return fmt.Errorf("meta: save: %w", err)
	}
	if int64(len(b)) > s.half {
		return fmt.Errorf("meta: save: record of %d bytes (header and payload) does not fit in a half of %d bytes", len(b), s.half)
	}
	off := int64(target) * s.half
	if _, err := s.dev.WriteAt(b, off); err != nil {
		return fmt.Errorf("meta: save: write half %d at offset %d: %w", target, off, err)
	}
	if syncer, ok := s.dev.(interface{ Sync() error }); ok {
		if err := syncer.Sync(); err != nil {
			return fmt.Errorf("meta: save: sync: %w", err)
		}
	}
	return nil
}

// readHalves reads and examines both halves.
func (s *Store) readHalves() ([2]decoded, error) {
	var halves [2]decoded
	for i := range halves {
		d, err := s.readHalf(int64(i) * s.half)
		if err != nil {
			return halves, fmt.Errorf("meta: read half %d: %w", i, err)
		}
		halves[i] = d
	}
	return halves, nil
}

// readHalf examines the copy of the half at off.
func (s *Store) readHalf(off int64) (decoded, error) {
	h := make([]byte, headerSize)
	if err := readFull(s.dev, h, off); err != nil {
		return decoded{}, err
	}
	d, n := decodeHeader(h, s.half-headerSize)
	if d.state != stateValid {
		return d, nil
	}
	payload := make([]byte, n)
	if err := readFull(s.dev, payload, off+headerSize); err != nil {
		return decoded{}, err
	}
	return decodePayload(d, h, payload), nil
}

// readFull fills b from dev at off.
func readFull(dev io.ReaderAt, b []byte, off int64) error {
	n, err := dev.ReadAt(b, off)
	if n == len(b) {
		return nil // io.ReaderAt may return io.EOF with a full read at the end
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read %d bytes at offset %d: %w", len(b), off, err)
}

// newest is the index of the valid half with the higher sequence, or -1.
func newest(h [2]decoded) int {
	switch {
	case h[0].state == stateValid && (h[1].state != stateValid || h[0].seq >= h[1].seq):
		return 0
	case h[1].state == stateValid:
		return 1
	default:
		return -1
	}
}

func describe(d decoded) string {
	switch d.state {
	case stateBlank:
		return "blank"
	case stateValid:
		return fmt.Sprintf("valid (sequence %d)", d.seq)
	default:
		return d.reason
	}
}
