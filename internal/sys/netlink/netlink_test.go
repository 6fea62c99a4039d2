//go:build linux

package netlink_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	nl "github.com/vishvananda/netlink"

	"github.com/plinth-os/plinth/internal/sys/netlink"
	"github.com/plinth-os/plinth/internal/sys/netlink/nettest"
)

func open(t *testing.T) (*netlink.Handle, *nl.Handle) {
	t.Helper()
	ns := nettest.Namespace(t)
	h, err := netlink.OpenIn(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	raw, err := nl.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	veth := &nl.Veth{LinkAttrs: nl.LinkAttrs{Name: "veth0"}, PeerName: "veth1"}
	if err := raw.LinkAdd(veth); err != nil {
		t.Fatalf("create veth: %v", err)
	}
	return h, raw
}

func find(t *testing.T, h *netlink.Handle, name string) netlink.Link {
	t.Helper()
	links, err := h.Links()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("no link %s in %+v", name, links)
	return netlink.Link{}
}

func TestLinks(t *testing.T) {
	h, _ := open(t)
	lo := find(t, h, "lo")
	if lo.Kind != "loopback" || lo.Physical || lo.Up {
		t.Fatalf("lo = %+v", lo)
	}
	for _, name := range []string{"lo", "veth0", "veth1"} {
		if err := h.SetUp(name); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.SetMTU("veth0", 1400); err != nil {
		t.Fatal(err)
	}
	v := find(t, h, "veth0")
	if v.Kind != "veth" || v.Physical || !v.Up || v.MTU != 1400 || len(v.HardwareAddr) != 17 {
		t.Fatalf("veth0 = %+v", v)
	}
	if err := h.SetUp("nope"); !netlink.IsNotFound(err) {
		t.Fatalf("SetUp(nope) = %v, want not found", err)
	}
}

func TestAddressesAndRoutes(t *testing.T) {
	h, _ := open(t)
	for _, name := range []string{"lo", "veth0", "veth1"} {
		if err := h.SetUp(name); err != nil {
			t.Fatal(err)
		}
	}
	p := netip.MustParsePrefix("10.9.0.2/24")
	if err := h.ReplaceAddress("veth0", p, 0); err != nil {
		t.Fatal(err)
	}
	if err := h.ReplaceAddress("veth0", netip.MustParsePrefix("10.9.1.2/24"), time.Hour); err != nil {
		t.Fatal(err)
	}
	addrs, err := h.Addresses()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(addrs, func(a netlink.Address) bool { return a.Link == "veth0" && a.Prefix == p && a.ValidLifetime == 0 }) ||
		!slices.ContainsFunc(addrs, func(a netlink.Address) bool { return a.Link == "veth0" && a.ValidLifetime > 59*time.Minute }) {
		t.Fatalf("addresses %+v", addrs)
	}
	node, err := h.NodeAddresses()
	if err != nil || !slices.Contains(node, p) {
		t.Fatalf("NodeAddresses = %v, %v", node, err)
	}

	def := netlink.Route{
		Link: "veth0", Destination: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.9.0.1"),
		PreferredSource: p.Addr(), Metric: 1024, Protocol: netlink.ProtoDHCP,
	}
	onlink := netlink.Route{Link: "veth0", Destination: netip.MustParsePrefix("192.168.7.0/24"), Metric: 100, Protocol: netlink.ProtoStatic}
	// A second default route with the same metric through another link
	// is added next to the first; adding one twice is no error.
	if err := h.ReplaceAddress("veth1", netip.MustParsePrefix("10.8.0.2/24"), 0); err != nil {
		t.Fatal(err)
	}
	other := def
	other.Link, other.Gateway, other.PreferredSource = "veth1", netip.MustParseAddr("10.8.0.1"), netip.Addr{}
	for _, r := range []netlink.Route{def, onlink, other, def} {
		if err := h.AddRoute(r); err != nil {
			t.Fatal(err)
		}
	}
	routes, err := h.Routes()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []netlink.Route{def, onlink, other} {
		if !slices.Contains(routes, want) {
			t.Fatalf("routes %+v lack %+v", routes, want)
		}
	}
	if err := h.DeleteRoute(def); err != nil {
		t.Fatal(err)
	}
	if err := h.DeleteRoute(def); err != nil {
		t.Fatalf("deleting a missing route: %v", err)
	}
	if err := h.DeleteAddress("veth0", p); err != nil {
		t.Fatal(err)
	}
	routes, _ = h.Routes()
	addrs, _ = h.Addresses()
	if slices.Contains(routes, def) || slices.ContainsFunc(addrs, func(a netlink.Address) bool { return a.Prefix == p }) {
		t.Fatalf("after delete: routes %+v addresses %+v", routes, addrs)
	}
}

func TestWatch(t *testing.T) {
	h, _ := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	notify := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() { done <- h.Watch(ctx, notify) }()
	deadline := time.After(10 * time.Second)
	for {
		// Changes before the subscription is set up are not seen: keep
		// changing until one is.
		if err := h.SetMTU("veth0", 1300+time.Now().Nanosecond()%100); err != nil {
			t.Fatal(err)
		}
		select {
		case <-notify:
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Watch = %v", err)
			}
			return
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("no notification")
		}
	}
}
