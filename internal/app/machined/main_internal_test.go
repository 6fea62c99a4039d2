package machined

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
)

func TestDetectMode(t *testing.T) {
	none := func(string) bool { return false }
	noEnv := func(string) string { return "" }
	tests := []struct {
		flag   string
		exists func(string) bool
		getenv func(string) string
		want   validation.Mode
	}{
		{"metal", func(string) bool { return true }, noEnv, validation.ModeMetal},
		{"container", none, noEnv, validation.ModeContainer},
		{"auto", none, noEnv, validation.ModeMetal},
		{"auto", func(p string) bool { return p == "/.dockerenv" }, noEnv, validation.ModeContainer},
		{"auto", func(p string) bool { return p == "/run/.containerenv" }, noEnv, validation.ModeContainer},
		{"auto", none, func(k string) string {
			if k == "container" {
				return "docker"
			}
			return ""
		}, validation.ModeContainer},
	}
	for _, tt := range tests {
		got, err := detectMode(tt.flag, tt.exists, tt.getenv)
		if err != nil || got != tt.want {
			t.Errorf("detectMode(%s) = %s, %v; want %s", tt.flag, got, err, tt.want)
		}
	}
	if _, err := detectMode("vm", none, noEnv); err == nil {
		t.Error("detectMode(vm) accepted an unknown mode")
	}
}

func TestResolveBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "plinth")
	if err := os.WriteFile(bin, []byte("#!"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "machined")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	if got, err := resolveBinary(link); err != nil || got != bin {
		t.Fatalf("resolveBinary = %s, %v; want %s", got, err, bin)
	}
	if _, err := resolveBinary(dir); err == nil {
		t.Fatal("a directory was accepted")
	}
	if _, err := resolveBinary(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing file was accepted")
	}
}
