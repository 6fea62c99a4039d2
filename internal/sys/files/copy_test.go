package files

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tarEntry is what a test checks of one archive member.
type tarEntry struct {
	typ  byte
	link string
	data string
	mode int64
}

// untar reads a gzipped tar into a map by name, keeping member order.
func untar(t *testing.T, data []byte) (map[string]tarEntry, []string) {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	entries := map[string]tarEntry{}
	var order []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("tar %s: %v", hdr.Name, err)
		}
		entries[hdr.Name] = tarEntry{typ: hdr.Typeflag, link: hdr.Linkname, data: string(body), mode: hdr.Mode}
		order = append(order, hdr.Name)
	}
	return entries, order
}

func TestCopyDirectoryRoundTrip(t *testing.T) {
	r := fixture(t)
	var buf bytes.Buffer
	if err := r.Copy(context.Background(), "/var/log", &buf); err != nil {
		t.Fatal(err)
	}
	got, order := untar(t, buf.Bytes())
	want := map[string]tarEntry{
		"log/":               {typ: tar.TypeDir, mode: 0o755},
		"log/app.log":        {typ: tar.TypeReg, data: "hello\n", mode: 0o644},
		"log/big.bin":        {typ: tar.TypeReg, data: string(bigContent()), mode: 0o644},
		"log/dirlink":        {typ: tar.TypeSymlink, link: "sub", mode: 0o777},
		"log/out":            {typ: tar.TypeSymlink, link: "../../../outside.txt", mode: 0o777},
		"log/sub/":           {typ: tar.TypeDir, mode: 0o755},
		"log/sub/deep/":      {typ: tar.TypeDir, mode: 0o755},
		"log/sub/deep/x.txt": {typ: tar.TypeReg, data: "deep\n", mode: 0o644},
	}
	if len(got) != len(want) {
		t.Errorf("archive holds %q, want %d entries (no fifo)", order, len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("missing %s in %q", name, order)
			continue
		}
		if g.typ != w.typ || g.link != w.link || g.data != w.data || g.mode&0o777 != w.mode {
			t.Errorf("%s = type %c link %q mode %o %d bytes; want type %c link %q mode %o %d bytes",
				name, g.typ, g.link, g.mode, len(g.data), w.typ, w.link, w.mode, len(w.data))
		}
	}
	if order[0] != "log/" {
		t.Errorf("first member %q, want the directory itself", order[0])
	}
}

func TestCopyFileAndLinks(t *testing.T) {
	r := fixture(t)
	tests := []struct {
		path string
		name string
		data string
	}{
		{"/etc/hosts", "hosts", "127.0.0.1 localhost\n"},
		{"/etc/var-link", "var-link", "hello\n"}, // a symlink given as the path is followed
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := r.Copy(context.Background(), tt.path, &buf); err != nil {
			t.Fatalf("copy %s: %v", tt.path, err)
		}
		got, order := untar(t, buf.Bytes())
		if len(got) != 1 || got[tt.name].data != tt.data || got[tt.name].typ != tar.TypeReg {
			t.Errorf("copy %s: archive %q, want only %s with %q", tt.path, order, tt.name, tt.data)
		}
	}
	var buf bytes.Buffer
	if err := r.Copy(context.Background(), "/var/log/dirlink", &buf); err != nil {
		t.Fatal(err)
	}
	if got, order := untar(t, buf.Bytes()); got["dirlink/deep/x.txt"].data != "deep\n" {
		t.Errorf("copy of a link to a directory: %q", order)
	}
}

func TestCopyRefusals(t *testing.T) {
	r := fixture(t)
	tests := []struct {
		path string
		want error
	}{
		{"/system/secrets", ErrNotAllowed},
		{"/etc/link-to-secret", ErrNotAllowed},
		{"/var/log/out", ErrNotAllowed},
		{"/var/log/fifo", ErrNotRegular},
		{"relative", ErrInvalidPath},
		{"/var/log/../../system", ErrInvalidPath},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		err := r.Copy(context.Background(), tt.path, &buf)
		if !errors.Is(err, tt.want) || !strings.HasPrefix(err.Error(), "copy ") {
			t.Errorf("Copy(%q) err = %v, want one matching %v", tt.path, err, tt.want)
		}
		if errors.Is(err, ErrNotAllowed) && buf.Len() != 0 {
			t.Errorf("Copy(%q) wrote %d bytes before refusing", tt.path, buf.Len())
		}
	}
}

func TestCopyHazardSkipped(t *testing.T) {
	r := fixture(t)
	var buf bytes.Buffer
	err := r.Copy(context.Background(), "/proc", &buf)
	if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "/proc/kmsg: reading it consumes the kernel log") {
		t.Fatalf("err = %v, want ErrIncomplete naming /proc/kmsg", err)
	}
	if got, order := untar(t, buf.Bytes()); len(got) != 1 || got["proc/"].typ != tar.TypeDir {
		t.Errorf("archive %q, want only proc/", order)
	}
}

func TestCopyUnreadableInjected(t *testing.T) {
	r := fixture(t)
	denyOpen(t, "app.log")
	denyOpen(t, "deep")
	var buf bytes.Buffer
	err := r.Copy(context.Background(), "/var/log", &buf)
	if !errors.Is(err, ErrIncomplete) || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("err = %v, want ErrIncomplete wrapping permission denied", err)
	}
	for _, want := range []string{"2 left out", "/var/log/app.log: open: permission denied", "/var/log/sub/deep: open directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to contain %q", err, want)
		}
	}
	got, order := untar(t, buf.Bytes())
	if _, ok := got["log/app.log"]; ok {
		t.Errorf("unreadable app.log archived: %q", order)
	}
	if got["log/big.bin"].data != string(bigContent()) {
		t.Errorf("readable files must still be archived: %q", order)
	}
}

func TestCopyUnreadable(t *testing.T) {
	skipIfRoot(t)
	r := fixture(t)
	if err := os.Chmod(filepath.Join(r.Root, "var/log/app.log"), 0); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.Copy(context.Background(), "/var/log", &buf); !errors.Is(err, ErrIncomplete) {
		t.Errorf("err = %v, want ErrIncomplete", err)
	}
}

func TestCopyCancelled(t *testing.T) {
	r := fixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := r.Copy(ctx, "/var/log", io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// failAfter fails writes once n bytes went through.
type failAfter struct{ n int }

func (w *failAfter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("connection reset")
	}
	return len(p), nil
}

func TestCopyWriteError(t *testing.T) {
	r := fixture(t)
	err := r.Copy(context.Background(), "/var/log", &failAfter{n: 10})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("err = %v, want the writer's error", err)
	}
}

// TestStreamShrinkingFile feeds stream a source shorter than announced:
// the entry is zero-filled to keep the archive valid and reported.
func TestStreamShrinkingFile(t *testing.T) {
	var buf bytes.Buffer
	c := &copier{ctx: context.Background(), tw: tar.NewWriter(&buf)}
	if err := c.tw.WriteHeader(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Size: 10, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if err := c.stream("/var/f", strings.NewReader("abc"), 10); err != nil {
		t.Fatal(err)
	}
	if err := c.tw.Close(); err != nil {
		t.Fatalf("archive invalid: %v", err)
	}
	if err := c.incomplete("copy", "/var"); !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "after 3 of 10 bytes") {
		t.Errorf("err = %v", err)
	}
	tr := tar.NewReader(&buf)
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	if data, _ := io.ReadAll(tr); string(data) != "abc\x00\x00\x00\x00\x00\x00\x00" {
		t.Errorf("content %q", data)
	}
}
