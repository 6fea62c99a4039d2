//go:build linux

package netlink

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	nl "github.com/vishvananda/netlink"
)

// Addresses lists the addresses of every link.
func (h *Handle) Addresses() ([]Address, error) {
	links, err := dump("links", h.h.LinkList)
	if err != nil {
		return nil, err
	}
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	addrs, err := dump("addresses", func() ([]nl.Addr, error) { return h.h.AddrList(nil, nl.FAMILY_ALL) })
	if err != nil {
		return nil, err
	}
	out := make([]Address, 0, len(addrs))
	for _, a := range addrs {
		p, ok := prefixOf(a.IPNet)
		if !ok {
			continue
		}
		var valid time.Duration
		if a.ValidLft > 0 && uint32(a.ValidLft) != infinity {
			valid = time.Duration(a.ValidLft) * time.Second
		}
		out = append(out, Address{Link: names[a.LinkIndex], Prefix: p, ValidLifetime: valid})
	}
	return out, nil
}

// infinity is the kernel's "forever" lifetime.
const infinity = 0xffffffff

// NodeAddresses returns the addresses of the links that are up: the
// address source of machined on metal.
func (h *Handle) NodeAddresses() ([]netip.Prefix, error) {
	links, err := h.Links()
	if err != nil {
		return nil, err
	}
	up := map[string]bool{}
	for _, l := range links {
		up[l.Name] = l.Up
	}
	addrs, err := h.Addresses()
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if up[a.Link] {
			out = append(out, a.Prefix)
		}
	}
	return out, nil
}

// ReplaceAddress adds the address to the link, or updates its lifetime
// when present. A zero lifetime is permanent.
func (h *Handle) ReplaceAddress(link string, p netip.Prefix, valid time.Duration) error {
	l, err := h.link(link)
	if err != nil {
		return err
	}
	a := &nl.Addr{IPNet: ipNet(p)}
	if valid > 0 {
		secs := max(int(valid/time.Second), 1)
		a.ValidLft, a.PreferedLft = secs, secs
	}
	if err := h.h.AddrReplace(l, a); err != nil {
		return fmt.Errorf("add %s to %s: %w", p, link, err)
	}
	return nil
}

// DeleteAddress removes the address from the link.
func (h *Handle) DeleteAddress(link string, p netip.Prefix) error {
	l, err := h.link(link)
	if err != nil {
		return err
	}
	if err := h.h.AddrDel(l, &nl.Addr{IPNet: ipNet(p)}); err != nil {
		return fmt.Errorf("remove %s from %s: %w", p, link, err)
	}
	return nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, bits := n.Mask.Size()
	if bits == 0 {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	if a.Is4() && bits == 128 {
		ones -= 96
	}
	return netip.PrefixFrom(a, ones), true
}

func ipNet(p netip.Prefix) *net.IPNet {
	bits := 128
	if p.Addr().Is4() {
		bits = 32
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}
