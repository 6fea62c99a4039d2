//go:build linux

package netlink

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	nl "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Routes lists the unicast routes of the main table.
func (h *Handle) Routes() ([]Route, error) {
	links, err := dump("links", h.h.LinkList)
	if err != nil {
		return nil, err
	}
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	filter := &nl.Route{Table: unix.RT_TABLE_MAIN}
	routes, err := dump("routes", func() ([]nl.Route, error) {
		return h.h.RouteListFiltered(nl.FAMILY_ALL, filter, nl.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, err
	}
	out := make([]Route, 0, len(routes))
	for _, r := range routes {
		if r.Type != unix.RTN_UNICAST {
			continue
		}
		dst, ok := prefixOf(r.Dst)
		if !ok {
			dst = defaultRoute(r.Family)
		}
		out = append(out, Route{
			Link: names[r.LinkIndex], Destination: dst, Gateway: addrOf(r.Gw),
			PreferredSource: addrOf(r.Src), Metric: uint32(r.Priority), Protocol: int(r.Protocol),
		})
	}
	return out, nil
}

func defaultRoute(family int) netip.Prefix {
	if family == nl.FAMILY_V6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

func addrOf(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}

func (h *Handle) route(r Route) (*nl.Route, error) {
	l, err := h.link(r.Link)
	if err != nil {
		return nil, err
	}
	out := &nl.Route{
		LinkIndex: l.Attrs().Index, Dst: ipNet(r.Destination), Priority: int(r.Metric),
		Protocol: nl.RouteProtocol(r.Protocol), Table: unix.RT_TABLE_MAIN, Scope: nl.SCOPE_UNIVERSE,
	}
	if r.Gateway.IsValid() {
		out.Gw = r.Gateway.AsSlice()
	} else {
		out.Scope = nl.SCOPE_LINK
	}
	if r.PreferredSource.IsValid() {
		out.Src = r.PreferredSource.AsSlice()
	}
	return out, nil
}

// AddRoute adds the route next to the routes to the same destination and
// metric through other links or gateways (the first added wins), as
// "ip route append" does; the same route already present is no error.
func (h *Handle) AddRoute(r Route) error {
	nr, err := h.route(r)
	if err != nil {
		return err
	}
	if err := h.h.RouteAppend(nr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add route %s: %w", describe(r), err)
	}
	return nil
}

// DeleteRoute removes the route; a route already gone is no error.
func (h *Handle) DeleteRoute(r Route) error {
	nr, err := h.route(r)
	if err != nil {
		return err
	}
	if err := h.h.RouteDel(nr); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("remove route %s: %w", describe(r), err)
	}
	return nil
}

func describe(r Route) string {
	s := r.Destination.String()
	if r.Gateway.IsValid() {
		s += " via " + r.Gateway.String()
	}
	return fmt.Sprintf("%s dev %s metric %d", s, r.Link, r.Metric)
}
