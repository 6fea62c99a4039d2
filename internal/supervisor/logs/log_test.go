package logs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogFileAppendAndRotate(t *testing.T) {
	dir := t.TempDir()
	l := New("etcd", Options{Dir: dir, MaxFileSize: 20})
	for _, line := range []string{"first line\n", "second line\n", "third\n"} {
		if _, err := l.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got, want := read("etcd.log.1"), "first line\n"; got != want {
		t.Errorf("rotated file = %q, want %q", got, want)
	}
	if got, want := read("etcd.log"), "second line\nthird\n"; got != want {
		t.Errorf("current file = %q, want %q", got, want)
	}
	if got, want := string(l.Tail(-1)), "first line\nsecond line\nthird\n"; got != want {
		t.Errorf("memory tail = %q, want %q", got, want)
	}
}

func TestLogMissingDirWritesMemoryOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not-mounted-yet")
	l := New("kubelet", Options{Dir: dir})
	defer l.Close()
	if _, err := l.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("log dir was created or probed wrongly: %v", err)
	}
	if got := string(l.Tail(1)); got != "hello\n" {
		t.Fatalf("Tail = %q", got)
	}
}

func TestLogAppendsToExistingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "apid.log")
	if err := os.WriteFile(path, []byte("from last boot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := New("apid", Options{Dir: dir})
	_, _ = l.Write([]byte("this boot\n"))
	_ = l.Close()
	b, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(b), "from last boot\nthis boot\n") {
		t.Fatalf("file = %q, want appended output", b)
	}
}
