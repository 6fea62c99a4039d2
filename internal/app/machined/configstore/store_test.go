package configstore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-os/plinth/internal/app/machined/configstore"
)

func TestStoreLifecycle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := configstore.New(dir)
	if data, err := s.Load(); err != nil || data != nil {
		t.Fatalf("Load of nothing = %q, %v", data, err)
	}
	if ok, err := s.PromoteStaged(); ok || err != nil {
		t.Fatalf("PromoteStaged of nothing = %v, %v", ok, err)
	}
	if err := s.Save([]byte("one")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(s.Path()); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v, %v", st, err)
	}
	if err := s.SaveStaged([]byte("two")); err != nil {
		t.Fatal(err)
	}
	if data, _ := s.Load(); string(data) != "one" {
		t.Fatalf("staging changed the active config: %q", data)
	}
	if ok, err := s.PromoteStaged(); !ok || err != nil {
		t.Fatalf("PromoteStaged = %v, %v", ok, err)
	}
	if data, _ := s.Load(); string(data) != "two" {
		t.Fatalf("after promote = %q, want two", data)
	}
	if _, err := os.Stat(s.StagedPath()); !os.IsNotExist(err) {
		t.Fatalf("staged file left behind: %v", err)
	}
	_ = s.SaveStaged([]byte("three"))
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	if data, _ := s.Load(); data != nil {
		t.Fatalf("after Remove = %q", data)
	}
	if _, err := os.Stat(s.StagedPath()); !os.IsNotExist(err) {
		t.Fatalf("Remove left the staged config: %v", err)
	}
	if err := s.Remove(); err != nil {
		t.Fatalf("second Remove = %v", err)
	}
}
