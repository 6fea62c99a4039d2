package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	kernelData = []byte("MZ kernel image\x00\x01\x02")
	initrdData = bytes.Repeat([]byte("070701 initramfs "), 100)
)

func base() Manifest {
	return Manifest{Version: "v0.2.0-3-gabcdef0", KernelRelease: "6.1.0-56-cloud-amd64", Arch: "amd64"}
}

// writeBundle returns a bundle of kernelData and initrdData.
func writeBundle(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	k, i := filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "initramfs")
	if err := os.WriteFile(k, kernelData, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(i, initrdData, 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Write(&buf, base(), k, i); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sink collects what Read writes, by name, and counts closes.
type sink struct {
	files  map[string]*bytes.Buffer
	closed map[string]int
}

func newSink() *sink { return &sink{files: map[string]*bytes.Buffer{}, closed: map[string]int{}} }

type closer struct {
	*bytes.Buffer
	close func() error
}

func (c closer) Close() error { return c.close() }

func (s *sink) open(name string, size int64) (io.WriteCloser, error) {
	b := &bytes.Buffer{}
	s.files[name] = b
	return closer{b, func() error { s.closed[name]++; return nil }}, nil
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestRoundTrip(t *testing.T) {
	data := writeBundle(t)
	s := newSink()
	m, err := Read(bytes.NewReader(data), s.open)
	if err != nil {
		t.Fatal(err)
	}
	want := base()
	want.Format = FormatVersion
	want.Files = []File{
		{Name: KernelName, Size: int64(len(kernelData)), SHA256: sum(kernelData)},
		{Name: InitrdName, Size: int64(len(initrdData)), SHA256: sum(initrdData)},
	}
	gotJSON, _ := json.Marshal(m)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("manifest %s, want %s", gotJSON, wantJSON)
	}
	if !bytes.Equal(s.files[KernelName].Bytes(), kernelData) || !bytes.Equal(s.files[InitrdName].Bytes(), initrdData) {
		t.Error("files differ after the round trip")
	}
	if s.closed[KernelName] != 1 || s.closed[InitrdName] != 1 {
		t.Errorf("closes %v, want one each", s.closed)
	}
	only, err := ReadManifest(bytes.NewReader(data))
	if err != nil || only.Version != want.Version || len(only.Files) != 2 {
		t.Errorf("ReadManifest = %+v, %v", only, err)
	}
	if again := writeBundle(t); !bytes.Equal(again, data) {
		t.Error("Write is not deterministic")
	}
}

// entry is one tar entry of a hand-made archive.
type entry struct {
	name string
	typ  byte
	data []byte
}

func archive(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.data))}
		if typ != tar.TypeReg {
			hdr.Size = 0
			hdr.Linkname = "x"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func manifestJSON(t *testing.T, edit func(*Manifest)) []byte {
	t.Helper()
	m := base()
	m.Format = FormatVersion
	m.Files = []File{
		{Name: KernelName, Size: int64(len(kernelData)), SHA256: sum(kernelData)},
		{Name: InitrdName, Size: int64(len(initrdData)), SHA256: sum(initrdData)},
	}
	if edit != nil {
		edit(&m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadRefuses(t *testing.T) {
	good := writeBundle(t)
	flipped := bytes.Clone(good)
	// The initramfs is the last entry: its data ends before the two zero
	// blocks that end the archive, padded to 512 bytes.
	at := bytes.LastIndex(flipped, initrdData[len(initrdData)-20:])
	flipped[at] ^= 0xff
	man := manifestJSON(t, nil)
	k, i := entry{name: KernelName, data: kernelData}, entry{name: InitrdName, data: initrdData}
	for name, c := range map[string]struct {
		data []byte
		want []string
	}{
		"flipped byte":      {flipped, []string{"initramfs", "checksum mismatch"}},
		"truncated":         {good[:len(good)-2048], []string{"initramfs", "truncated"}},
		"truncated header":  {good[:1024+100], []string{"vmlinuz", "truncated"}},
		"empty":             {nil, []string{"empty archive"}},
		"not tar":           {bytes.Repeat([]byte("x"), 1024), []string{"manifest.json", "malformed"}},
		"manifest second":   {archive(t, k, entry{name: ManifestName, data: man}, i), []string{`first entry is "vmlinuz"`}},
		"extra file":        {archive(t, entry{name: ManifestName, data: man}, k, i, entry{name: "evil", data: []byte("x")}), []string{`unexpected entry "evil"`}},
		"missing initramfs": {archive(t, entry{name: ManifestName, data: man}, k), []string{"ends before initramfs"}},
		"duplicate kernel":  {archive(t, entry{name: ManifestName, data: man}, k, k, i), []string{`"vmlinuz" where initramfs was expected`}},
		"swapped":           {archive(t, entry{name: ManifestName, data: man}, i, k), []string{`"initramfs" where vmlinuz was expected`}},
		"symlink":           {archive(t, entry{name: ManifestName, data: man}, entry{name: KernelName, typ: tar.TypeSymlink}, i), []string{"vmlinuz is not a regular file"}},
		"wrong size": {archive(t, entry{name: ManifestName, data: manifestJSON(t, func(m *Manifest) { m.Files[1].Size++ })}, k, i),
			[]string{"initramfs", "bytes in the archive, the manifest says"}},
		"format 2":      {archive(t, entry{name: ManifestName, data: manifestJSON(t, func(m *Manifest) { m.Format = 2 })}, k, i), []string{"format 2"}},
		"no version":    {archive(t, entry{name: ManifestName, data: manifestJSON(t, func(m *Manifest) { m.Version = "" })}, k, i), []string{"version is empty"}},
		"upper hex":     {archive(t, entry{name: ManifestName, data: manifestJSON(t, func(m *Manifest) { m.Files[0].SHA256 = strings.ToUpper(m.Files[0].SHA256) })}, k, i), []string{"vmlinuz: sha256"}},
		"three files":   {archive(t, entry{name: ManifestName, data: manifestJSON(t, func(m *Manifest) { m.Files = append(m.Files, m.Files[0]) })}, k, i), []string{"3 files"}},
		"unknown field": {archive(t, entry{name: ManifestName, data: []byte(`{"format":1,"extra":true}`)}, k, i), []string{`unknown field "extra"`}},
		"trailing json": {archive(t, entry{name: ManifestName, data: append(bytes.Clone(man), []byte("{}")...)}, k, i), []string{"after top-level value"}},
		"huge manifest": {archive(t, entry{name: ManifestName, data: make([]byte, MaxManifestSize+1)}), []string{"manifest.json: size"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(c.data), newSink().open)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestReadClosesOnFailure(t *testing.T) {
	good := writeBundle(t)
	s := newSink()
	if _, err := Read(bytes.NewReader(good[:len(good)-2048]), s.open); err == nil {
		t.Fatal("accepted a truncated bundle")
	}
	if s.closed[KernelName] != 1 || s.closed[InitrdName] != 1 {
		t.Errorf("closes %v, want one each", s.closed)
	}
}

func TestReadWriterErrors(t *testing.T) {
	good := writeBundle(t)
	boom := errors.New("disk full")
	_, err := Read(bytes.NewReader(good), func(name string, size int64) (io.WriteCloser, error) {
		if name == InitrdName {
			return nil, boom
		}
		return newSink().open(name, size)
	})
	if !errors.Is(err, boom) || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "open initramfs") {
		t.Errorf("open failure: %v", err)
	}
	_, err = Read(bytes.NewReader(good), func(name string, size int64) (io.WriteCloser, error) {
		return closer{&bytes.Buffer{}, func() error { return boom }}, nil
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "close vmlinuz") {
		t.Errorf("close failure: %v", err)
	}
}

func TestWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	k, empty := filepath.Join(dir, "k"), filepath.Join(dir, "empty")
	os.WriteFile(k, kernelData, 0o644)
	os.WriteFile(empty, nil, 0o644)
	if _, err := Write(io.Discard, base(), k, filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "initramfs") {
		t.Errorf("missing initramfs: %v", err)
	}
	if _, err := Write(io.Discard, base(), k, empty); err == nil || !strings.Contains(err.Error(), "initramfs: size 0") {
		t.Errorf("empty initramfs: %v", err)
	}
	m := base()
	m.Version = "v1 with spaces"
	if _, err := Write(io.Discard, m, k, k); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("bad version: %v", err)
	}
}
