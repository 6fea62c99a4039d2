//go:build linux

// Package nettest gives root tests fresh network namespaces, so they can
// create links, addresses and routes without touching the host's network.
package nettest

import (
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
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

// Veth connects two namespaces with a veth pair: nameA in a, nameB in b,
// both down and without addresses.
func Veth(t *testing.T, a netns.NsHandle, nameA string, b netns.NsHandle, nameB string) {
	t.Helper()
	h, err := netlink.NewHandleAt(a)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: nameA}, PeerName: nameB, PeerNamespace: netlink.NsFd(b)}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatalf("create veth %s/%s: %v", nameA, nameB, err)
	}
}

// Up brings the link up and gives it the addresses, in ns.
func Up(t *testing.T, ns netns.NsHandle, link string, addrs ...string) {
	t.Helper()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(link)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		addr, err := netlink.ParseAddr(a)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.AddrAdd(l, addr); err != nil {
			t.Fatalf("add %s to %s: %v", a, link, err)
		}
	}
	if err := h.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
}
