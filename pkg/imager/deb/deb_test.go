package deb

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func tarball(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body)), Linkname: e.link}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func compress(t *testing.T, ext string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch ext {
	case ".gz":
		w = gzip.NewWriter(&buf)
	case ".xz":
		w, err = xz.NewWriter(&buf)
	case ".zst":
		w, err = zstd.NewWriter(&buf)
	default:
		return data
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeDeb writes an ar archive with the members of a .deb.
func writeDeb(t *testing.T, ext string, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString(arMagic)
	member := func(name string, body []byte) {
		fmt.Fprintf(&buf, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", name, 0, 0, 0, 0o644, len(body))
		buf.Write(body)
		if len(body)%2 == 1 {
			buf.WriteByte('\n')
		}
	}
	member("debian-binary", []byte("2.0\n"))
	member("control.tar.gz", compress(t, ".gz", tarball(t, []tarEntry{{name: "./control", body: "Package: x\n", typ: tar.TypeReg, mode: 0o644}})))
	member("data.tar"+ext, compress(t, ext, data))
	p := filepath.Join(t.TempDir(), "x.deb")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExtract(t *testing.T) {
	data := tarball(t, []tarEntry{
		{name: "./", typ: tar.TypeDir, mode: 0o755},
		{name: "./boot/", typ: tar.TypeDir, mode: 0o755},
		{name: "./boot/vmlinuz-6.1", body: "kernel", typ: tar.TypeReg, mode: 0o644},
		{name: "./lib/modules/6.1/kernel/a.ko", body: "odd", typ: tar.TypeReg, mode: 0o644},
		{name: "./usr/bin/tool", body: "#!", typ: tar.TypeReg, mode: 0o755},
		{name: "./usr/bin/alias", link: "tool", typ: tar.TypeSymlink},
		{name: "./usr/bin/hard", link: "./usr/bin/tool", typ: tar.TypeLink},
	})
	for _, ext := range []string{"", ".gz", ".xz", ".zst"} {
		t.Run("data.tar"+ext, func(t *testing.T) {
			dir := t.TempDir()
			if err := Extract(writeDeb(t, ext, data), dir); err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]string{"boot/vmlinuz-6.1": "kernel", "lib/modules/6.1/kernel/a.ko": "odd", "usr/bin/alias": "#!", "usr/bin/hard": "#!"} {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || string(got) != want {
					t.Errorf("%s: %q, %v; want %q", name, got, err, want)
				}
			}
			if st, err := os.Stat(filepath.Join(dir, "usr/bin/tool")); err != nil || st.Mode().Perm() != 0o755 {
				t.Errorf("tool mode: %v %v", st, err)
			}
		})
	}
}

func TestExtractRefusesEscapes(t *testing.T) {
	for name, entries := range map[string][]tarEntry{
		"dotdot": {{name: "./../evil", body: "x", typ: tar.TypeReg, mode: 0o644}},
		"through symlink": {
			{name: "./lib", link: "/tmp", typ: tar.TypeSymlink},
			{name: "./lib/evil", body: "x", typ: tar.TypeReg, mode: 0o644},
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := Extract(writeDeb(t, ".gz", tarball(t, entries)), t.TempDir())
			if err == nil {
				t.Fatal("escape accepted")
			}
		})
	}
	if _, err := os.Stat("/tmp/evil"); err == nil {
		t.Fatal("/tmp/evil was written")
	}
}

func TestNotADeb(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.deb")
	if err := os.WriteFile(p, []byte("PK\x03\x04"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Extract(p, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not an ar archive") {
		t.Fatalf("got %v", err)
	}
}
