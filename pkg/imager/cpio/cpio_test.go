package cpio

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

type entry struct {
	name  string
	mode  uint32
	data  string
	major uint32
	minor uint32
}

// parse is an independent newc reader for the tests.
func parse(t *testing.T, b []byte) []entry {
	t.Helper()
	var out []entry
	off := 0
	for {
		if off%4 != 0 {
			t.Fatalf("header at unaligned offset %d", off)
		}
		h := string(b[off : off+headerSize])
		if h[:6] != magic {
			t.Fatalf("bad magic %q at %d", h[:6], off)
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(h[6+8*i:14+8*i], 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return uint32(v)
		}
		mode, size, namesize := field(1), field(6), field(11)
		name := string(b[off+headerSize : off+headerSize+int(namesize)-1])
		off += headerSize + int(namesize)
		off += (4 - off%4) % 4
		data := string(b[off : off+int(size)])
		off += int(size)
		off += (4 - off%4) % 4
		if name == trailer {
			if off != len(b) {
				t.Fatalf("%d bytes after the trailer", len(b)-off)
			}
			return out
		}
		out = append(out, entry{name: name, mode: mode, data: data, major: field(9), minor: field(10)})
	}
}

func build(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	steps := []error{
		w.Dir("dev", 0o755),
		w.CharDev("dev/console", 0o600, 5, 1),
		w.File("/init", 0o755, 5, strings.NewReader("hello")),
		w.Symlink("sbin", "init"),
		w.File("empty", 0o644, 0, strings.NewReader("")),
		w.Close(),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	got := parse(t, build(t))
	want := []entry{
		{name: "dev", mode: TypeDir | 0o755},
		{name: "dev/console", mode: TypeCharDev | 0o600, major: 5, minor: 1},
		{name: "init", mode: TypeRegular | 0o755, data: "hello"},
		{name: "sbin", mode: TypeSymlink | 0o777, data: "init"},
		{name: "empty", mode: TypeRegular | 0o644},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteHeader(&Header{Name: "", Mode: TypeRegular}); err == nil {
		t.Error("empty name accepted")
	}
	if err := w.WriteHeader(&Header{Name: "d", Mode: TypeDir, Size: 1}); err == nil {
		t.Error("directory with data accepted")
	}
	if err := w.WriteHeader(&Header{Name: "f", Mode: TypeRegular, Size: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("toolong")); err == nil {
		t.Error("write past the entry accepted")
	}
	if err := w.Close(); err == nil {
		t.Error("close with missing data accepted")
	}
	if err := w.File("g", 0o644, 4, strings.NewReader("ab")); err == nil {
		t.Error("short file accepted")
	}
}

// TestGNUCpio lists the archive with GNU cpio when it is installed.
func TestGNUCpio(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("GNU cpio is not installed")
	}
	cmd := exec.Command("cpio", "-it", "--quiet")
	cmd.Stdin = bytes.NewReader(build(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -it: %v\n%s", err, out)
	}
	if got, want := strings.Fields(string(out)), []string{"dev", "dev/console", "init", "sbin", "empty"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("cpio lists %q, want %q", got, want)
	}
}
