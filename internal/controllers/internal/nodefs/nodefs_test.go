package nodefs_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-os/plinth/internal/controllers/internal/nodefs"
)

func TestWriteRemoveHash(t *testing.T) {
	root := t.TempDir()
	a := nodefs.File{Path: "/etc/x/a.conf", Data: []byte("a"), Mode: 0o600}
	if err := nodefs.Write(root, 0o700, a); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(root, a.Path)
	fi, err := os.Stat(full)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("stat = %v, %v", fi, err)
	}
	// Unchanged content and mode: the file is not rewritten.
	before := fi.ModTime()
	if err := os.Chtimes(full, before.Add(-3600e9), before.Add(-3600e9)); err != nil {
		t.Fatal(err)
	}
	if err := nodefs.Write(root, 0o700, a); err != nil {
		t.Fatal(err)
	}
	if fi2, _ := os.Stat(full); !fi2.ModTime().Equal(before.Add(-3600e9)) {
		t.Error("an unchanged file was rewritten")
	}
	// A new mode rewrites it.
	a.Mode = 0o644
	if err := nodefs.Write(root, 0o700, a); err != nil {
		t.Fatal(err)
	}
	if fi3, _ := os.Stat(full); fi3.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi3.Mode().Perm())
	}
	b := nodefs.File{Path: a.Path, Data: []byte("b"), Mode: a.Mode}
	if nodefs.Hash(a) == nodefs.Hash(b) || nodefs.Hash(a) != nodefs.Hash(a) {
		t.Error("hash does not follow the content")
	}
	if err := nodefs.Remove(root, a.Path, "/missing"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(full); !os.IsNotExist(err) {
		t.Errorf("file survived Remove: %v", err)
	}
}
