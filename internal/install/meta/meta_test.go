package meta

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testSize = 16 << 10

// memDevice is an in-memory Device that counts syncs.
type memDevice struct {
	b     []byte
	syncs int
}

func newMem(size int) *memDevice { return &memDevice{b: make([]byte, size)} }

func (m *memDevice) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, errors.New("read past end")
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, errors.New("short read")
	}
	return n, nil
}

func (m *memDevice) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > int64(len(m.b)) {
		return 0, errors.New("write past end")
	}
	return copy(m.b[off:], p), nil
}

func (m *memDevice) Sync() error { m.syncs++; return nil }

func open(t *testing.T, dev Device, size int64) *Store {
	t.Helper()
	s, err := Open(dev, size)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustLoad(t *testing.T, s *Store) Values {
	t.Helper()
	v, err := s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return v
}

func TestRoundTrip(t *testing.T) {
	dev := newMem(testSize)
	s := open(t, dev, testSize)
	want := Values{"upgrade": `{"committed":"A"}`, "b": "2", "a": "ünïcode ✓"}
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	if dev.syncs != 1 {
		t.Errorf("syncs after one Save = %d, want 1", dev.syncs)
	}
	// A new store on the same bytes sees the record.
	got := mustLoad(t, open(t, dev, testSize))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	// The payload is JSON with sorted keys.
	n := binary.LittleEndian.Uint32(dev.b[12:16])
	if p := string(dev.b[headerSize : headerSize+n]); !strings.HasPrefix(p, `{"a":`) || !strings.Contains(p, `"b":"2","upgrade":`) {
		t.Errorf("payload %s: keys not sorted", p)
	}
}

func TestFreshAreaIsEmpty(t *testing.T) {
	s := open(t, newMem(testSize), testSize)
	v := mustLoad(t, s)
	if v == nil || len(v) != 0 {
		t.Errorf("Load of a zeroed area = %#v, want empty non-nil Values", v)
	}
}

func TestAlternatesHalves(t *testing.T) {
	dev := newMem(testSize)
	s := open(t, dev, testSize)
	half := testSize / 2
	for i, val := range []string{"one", "two", "three", "four"} {
		if err := s.Save(Values{"k": val}); err != nil {
			t.Fatal(err)
		}
		target := i % 2 // first Save goes to half 0, then alternates
		seq := binary.LittleEndian.Uint64(dev.b[target*half+16:])
		if seq != uint64(i+1) {
			t.Errorf("Save %d: half %d holds sequence %d, want %d", i+1, target, seq, i+1)
		}
		if got := mustLoad(t, s)["k"]; got != val {
			t.Errorf("after Save %d: k = %q, want %q", i+1, got, val)
		}
	}
}

func TestTornWriteKeepsPrevious(t *testing.T) {
	for name, tear := range map[string]func(b []byte){
		"payload byte flipped": func(b []byte) { b[headerSize+3] ^= 0xff },
		"header cut":           func(b []byte) { clear(b[8:headerSize]) },
		"payload zeroed":       func(b []byte) { clear(b[headerSize : headerSize+10]) },
		"length too large":     func(b []byte) { binary.LittleEndian.PutUint32(b[12:], 1<<30) },
	} {
		t.Run(name, func(t *testing.T) {
			dev := newMem(testSize)
			s := open(t, dev, testSize)
			for _, v := range []string{"old", "new"} {
				if err := s.Save(Values{"k": v}); err != nil {
					t.Fatal(err)
				}
			}
			// "new" (seq 2) is in half 1; damage it.
			tear(dev.b[testSize/2:])
			if got := mustLoad(t, s); got["k"] != "old" {
				t.Fatalf("after damaging the newest copy: k = %q, want old", got["k"])
			}
			// The next Save goes over the damaged half, keeping "old".
			if err := s.Save(Values{"k": "newer"}); err != nil {
				t.Fatal(err)
			}
			if seq := binary.LittleEndian.Uint64(dev.b[testSize/2+16:]); seq != 2 {
				t.Errorf("rewritten half 1 holds sequence %d, want 2", seq)
			}
			if got := mustLoad(t, s); got["k"] != "newer" {
				t.Errorf("k = %q, want newer", got["k"])
			}
		})
	}
}

func TestTooLargeRefused(t *testing.T) {
	dev := newMem(testSize)
	s := open(t, dev, testSize)
	if err := s.Save(Values{"k": "kept"}); err != nil {
		t.Fatal(err)
	}
	before := append([]byte(nil), dev.b...)
	err := s.Save(Values{"k": strings.Repeat("x", testSize/2)})
	if err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Fatalf("Save of an oversized record: error %v, want one saying it does not fit", err)
	}
	if string(before) != string(dev.b) {
		t.Error("refused Save changed the area")
	}
	if got := mustLoad(t, s); got["k"] != "kept" {
		t.Errorf("k = %q, want kept", got["k"])
	}
	// The largest record that fits is accepted.
	overhead := headerSize + len(`{"k":""}`)
	if err := s.Save(Values{"k": strings.Repeat("y", testSize/2-overhead)}); err != nil {
		t.Errorf("Save of a record filling a half exactly: %v", err)
	}
}

func TestBothCorrupt(t *testing.T) {
	dev := newMem(testSize)
	s := open(t, dev, testSize)
	for range 2 {
		if err := s.Save(Values{"k": "v"}); err != nil {
			t.Fatal(err)
		}
	}
	dev.b[headerSize] ^= 1
	dev.b[testSize/2] ^= 1
	v, err := s.Load()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load with both copies damaged: error %v, want ErrCorrupt", err)
	}
	if !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), "no magic") {
		t.Errorf("error %q does not say what is wrong with each half", err)
	}
	if v == nil || len(v) != 0 {
		t.Errorf("values = %#v, want empty", v)
	}
	// Starting over works.
	if err := s.Save(Values{"k": "fresh"}); err != nil {
		t.Fatal(err)
	}
	if got := mustLoad(t, s); got["k"] != "fresh" {
		t.Errorf("k = %q after starting over, want fresh", got["k"])
	}
}

func TestOpenRejectsBadSizes(t *testing.T) {
	for _, size := range []int64{0, MinSize - 2, MinSize + 1} {
		if _, err := Open(newMem(int(MinSize*2)), size); err == nil {
			t.Errorf("Open size %d: no error", size)
		}
	}
}

func TestReadErrorReported(t *testing.T) {
	s := open(t, newMem(MinSize), 2*MinSize) // area larger than the device
	if _, err := s.Load(); err == nil || errors.Is(err, ErrCorrupt) {
		t.Errorf("Load past the device's end: error %v, want a read error", err)
	}
}

func TestConcurrent(t *testing.T) {
	s := open(t, newMem(testSize), testSize)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				if err := s.Save(Values{"writer": string(rune('a' + i))}); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Load(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestOpenPathFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.img")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	s, c, err := OpenPath(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(Values{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	s, c, err = OpenPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := mustLoad(t, s); got["k"] != "v" {
		t.Errorf("k = %q after reopening, want v", got["k"])
	}
	if _, _, err := OpenPath(filepath.Join(t.TempDir(), "absent")); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("OpenPath of a missing file: error %v, want one naming it", err)
	}
}

// FuzzLoad feeds arbitrary bytes as both halves: Load must never panic,
// and must return either values or an error. With fixCRC, the checksum of
// half 0 is made to match, so arbitrary headers and payloads get past it.
func FuzzLoad(f *testing.F) {
	good, _ := encodeCopy(Values{"a": "b"}, 7)
	f.Add(good, good, false)
	f.Add(good, []byte("PLNTMETA"), false)
	f.Add([]byte{}, []byte{}, false)
	f.Add([]byte("PLNTMETA\x01\x00\x00\x00\xff\xff\xff\xff"), good, false)
	f.Add([]byte("PLNTMETA\x01\x00\x00\x00\x04\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00null"), good, true)
	f.Fuzz(func(t *testing.T, h0, h1 []byte, fixCRC bool) {
		dev := newMem(MinSize)
		copy(dev.b, h0)
		copy(dev.b[MinSize/2:], h1)
		if n := int(binary.LittleEndian.Uint32(dev.b[12:16])); fixCRC && n <= MinSize/2-headerSize {
			sum := checksum(dev.b[:crcOffset], dev.b[headerSize:headerSize+n])
			binary.LittleEndian.PutUint32(dev.b[crcOffset:], sum)
		}
		s := open(t, dev, MinSize)
		v, err := s.Load()
		if v == nil {
			t.Fatalf("Load returned nil Values (err %v)", err)
		}
		if err == nil {
			if err := s.Save(v); err != nil {
				// Re-encoding may grow a record (invalid UTF-8 becomes U+FFFD).
				if strings.Contains(err.Error(), "does not fit") {
					return
				}
				t.Fatalf("Save of loaded values: %v", err)
			}
			v2 := mustLoad(t, s)
			if diff := cmp.Diff(v, v2); diff != "" {
				t.Fatalf("round trip (-loaded +reloaded):\n%s", diff)
			}
		}
	})
}
