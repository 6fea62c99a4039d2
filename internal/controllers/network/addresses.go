package network

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// InterfaceAddresses returns the addresses of the host's interfaces that
// are up, from the standard library. machined uses it in container mode.
func InterfaceAddresses() ([]netip.Prefix, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}

	var out []netip.Prefix

	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 {
			continue
		}

		addrs, err := iface.Addrs()
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", iface.Name, err)
		}

		for _, a := range addrs {
			ipnet, ok := a.(*net.IPNet)
			if !ok {
				continue
			}

			addr, ok := netip.AddrFromSlice(ipnet.IP)
			if !ok {
				continue
			}

			ones, bits := ipnet.Mask.Size()
			if addr.Is4In6() && bits == 128 {
				ones -= 96
			}

			out = append(out, netip.PrefixFrom(addr.Unmap(), ones))
		}
	}

	return out, nil
}

// NormalizeAddresses keeps the usable addresses of prefixes and orders
// them: no loopback, link-local, multicast or unspecified addresses, no
// duplicates; global unicast first, then by address (IPv4 before IPv6) and
// prefix length. The result is in CIDR form, host bits kept.
func NormalizeAddresses(prefixes []netip.Prefix) []string {
	kept := make([]netip.Prefix, 0, len(prefixes))

	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}

		p = unmapPrefix(p)
		if usable(p.Addr()) {
			kept = append(kept, p)
		}
	}

	slices.SortFunc(kept, comparePrefixes)
	kept = slices.Compact(kept)

	out := make([]string, len(kept))
	for i, p := range kept {
		out[i] = p.String()
	}

	return out
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix into the IPv4 one.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.Addr().Is4In6() {
		return p
	}

	return netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
}

func usable(a netip.Addr) bool {
	return !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsLinkLocalMulticast() &&
		!a.IsInterfaceLocalMulticast() && !a.IsMulticast() && !a.IsUnspecified()
}

func comparePrefixes(a, b netip.Prefix) int {
	ga, gb := a.Addr().IsGlobalUnicast(), b.Addr().IsGlobalUnicast()
	if ga != gb {
		if ga {
			return -1
		}

		return 1
	}

	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}
