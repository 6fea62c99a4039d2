//go:build linux

package kmod

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"/lib/modules/6.1/kernel/drivers/char/hw_random/virtio-rng.ko": "virtio_rng",
		"loop.ko": "loop",
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "virtio-net.ko"), "")
	if err == nil || !strings.Contains(err.Error(), "virtio_net") {
		t.Fatalf("got %v, want an error naming the module", err)
	}
}

func TestIsLoaded(t *testing.T) {
	dir := t.TempDir()
	if IsLoaded(dir, "loop") {
		t.Fatal("loop reported loaded in an empty directory")
	}
}
