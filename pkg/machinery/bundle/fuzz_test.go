package bundle

import (
	"bytes"
	"io"
	"testing"
)

// FuzzRead feeds arbitrary bytes to Read: it must never panic, never ask for
// a writer larger than MaxFileSize, and return only valid manifests.
func FuzzRead(f *testing.F) {
	good := writeBundle(f)
	f.Add(good)
	f.Add(good[:1024])
	f.Add(good[:len(good)-1024])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Read(bytes.NewReader(data), func(name string, size int64) (io.WriteCloser, error) {
			if size <= 0 || size > MaxFileSize {
				t.Fatalf("open(%q, %d): size out of bounds", name, size)
			}
			return nopCloser{io.Discard}, nil
		})
		if err == nil {
			if verr := m.Validate(); verr != nil {
				t.Fatalf("Read accepted an invalid manifest: %v", verr)
			}
		}
		if mm, err := ReadManifest(bytes.NewReader(data)); err == nil {
			if verr := mm.Validate(); verr != nil {
				t.Fatalf("ReadManifest accepted an invalid manifest: %v", verr)
			}
		}
	})
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
