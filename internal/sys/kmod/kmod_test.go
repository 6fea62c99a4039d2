//go:build linux

package kmod

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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

func TestLoadIdleRestoresPriority(t *testing.T) {
	runtime.LockOSThread() // LoadIdle runs on this thread too
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	before, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		t.Skipf("getpriority: %v", err)
	}
	_, err = LoadIdle(filepath.Join(t.TempDir(), "veth.ko"), "")
	if err == nil || !strings.Contains(err.Error(), "veth") {
		t.Fatalf("got %v, want an error naming the module", err)
	}
	after, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("thread priority %d after LoadIdle, was %d", 20-after, 20-before)
	}
}
