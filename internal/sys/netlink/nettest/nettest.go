//go:build linux

// Package nettest gives root tests fresh network namespaces, so they can
// create links, addresses and routes without touching the host's network.
package nettest

import (
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netns"
)

// Namespace returns a new, empty network namespace (only a down "lo"),
// closed when the test ends. The caller's thread stays where it was. It
// skips the test, saying why, when not root or when namespaces are not
// allowed.
func Namespace(t *testing.T) netns.NsHandle {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatalf("current network namespace: %v", err)
	}
	defer orig.Close()
	ns, err := netns.New() // also enters it
	if err != nil {
		t.Skipf("cannot create a network namespace: %v", err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatalf("return to the original network namespace: %v", err)
	}
	t.Cleanup(func() { _ = ns.Close() })
	return ns
}
