package imager

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// step is one incremental build step: it runs only when its key (a hash of
// everything it reads) differs from the key stored after its last
// successful run, or when one of its outputs is missing.
type step struct {
	name    string
	key     string
	outputs []string
	run     func() error
}

// runStep runs s unless it is up to date; it reports whether it ran.
func (b *builder) runStep(s step) (bool, error) {
	stamp := filepath.Join(b.cfg.Out, ".imager", s.name+".key")
	if !b.cfg.Force && upToDate(stamp, s.key, s.outputs) {
		b.logf("%-10s up to date", s.name)
		return false, nil
	}
	_ = os.Remove(stamp)
	start := b.now()
	if err := s.run(); err != nil {
		return true, fmt.Errorf("%s: %w", s.name, err)
	}
	if err := os.MkdirAll(filepath.Dir(stamp), 0o755); err != nil {
		return true, fmt.Errorf("%s: %w", s.name, err)
	}
	if err := os.WriteFile(stamp, []byte(s.key+"\n"), 0o644); err != nil {
		return true, fmt.Errorf("%s: %w", s.name, err)
	}
	b.logf("%-10s built in %s", s.name, b.now().Sub(start).Round(10e6))
	return true, nil
}

func upToDate(stamp, key string, outputs []string) bool {
	got, err := os.ReadFile(stamp)
	if err != nil || strings.TrimSpace(string(got)) != key {
		return false
	}
	for _, o := range outputs {
		if _, err := os.Stat(o); err != nil {
			return false
		}
	}
	return true
}

// keyer accumulates a step key.
type keyer struct{ h io.Writer }

func newKeyer() (*keyer, func() string) {
	h := sha256.New()
	return &keyer{h: h}, func() string { return hex.EncodeToString(h.Sum(nil)) }
}

// add mixes labelled strings into the key.
func (k *keyer) add(label string, values ...string) {
	fmt.Fprintf(k.h, "%s=%q\n", label, values)
}

// file mixes a file's content into the key.
func (k *keyer) file(label, path string) error {
	sum, err := fileSHA256(path)
	if err != nil {
		return err
	}
	k.add(label, sum)
	return nil
}

// reader mixes a stream's content into the key.
func (k *keyer) reader(label string, r io.Reader) error {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("hash %s: %w", label, err)
	}
	k.add(label, hex.EncodeToString(h.Sum(nil)))
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeAtomic writes path through a temporary file in the same directory.
func writeAtomic(path string, write func(w io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
