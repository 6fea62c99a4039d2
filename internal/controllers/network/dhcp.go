package network

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/sys/dhcp"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// DHCPController runs a DHCPv4 client on every link whose LinkSpec asks
// for DHCP, once the link exists and is up. Each lease becomes a DHCPLease
// resource (name servers, host name, domain, NTP servers, deadlines), an
// AddressSpec valid until the lease ends, and a default RouteSpec through
// the lease's router (metric 1024, the leased address as source). Leases
// are renewed at T1 and rebound at T2 (see dhcpLink); an expired or
// refused lease's resources are removed and the client starts over. A
// link that no longer wants DHCP, or disappears, has its lease released;
// so do all links when the controller stops.
type DHCPController struct {
	// Open starts a client on a link (dhcp.Open in production).
	Open func(link string) (dhcp.Client, error)
	// Now is the clock of leases; nil means time.Now.
	Now func() time.Time
	// RetryInitial and RetryMax bound the backoff of failed requests
	// (also the shortest wait between renewals).
	RetryInitial, RetryMax time.Duration
}

// Name implements runtime.Controller.
func (*DHCPController) Name() string { return "network.DHCPController" }

// Inputs implements runtime.Controller.
func (*DHCPController) Inputs() []runtime.Input {
	return []runtime.Input{
		{Namespace: network.NamespaceName, Type: network.LinkSpecType},
		{Namespace: network.NamespaceName, Type: network.LinkStatusType},
	}
}

// Outputs implements runtime.Controller.
func (*DHCPController) Outputs() []runtime.Output {
	return []runtime.Output{
		{Type: network.DHCPLeaseType},
		{Type: network.AddressSpecType, Kind: runtime.OutputShared},
		{Type: network.RouteSpecType, Kind: runtime.OutputShared},
	}
}

// Run implements runtime.Controller.
func (c *DHCPController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	events := make(chan leaseEvent, 8)
	links := map[string]*dhcpLink{}
	leases := map[string]*dhcp.Lease{}
	defer func() {
		for _, l := range links {
			l.cancel()
		}
		for _, l := range links {
			<-l.done
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
			want, err := dhcpLinks(ctx, r)
			if err != nil {
				return err
			}
			for name, l := range links {
				if !want[name] {
					l.cancel()
					<-l.done
					delete(links, name)
					delete(leases, name)
				}
			}
			for name := range want {
				if links[name] == nil {
					links[name] = c.start(ctx, name, events, now, logger)
				}
			}
		case ev := <-events:
			if links[ev.from.name] != ev.from {
				continue // from a client stopped since
			}
			leases[ev.from.name] = ev.lease
			if ev.lease == nil {
				delete(leases, ev.from.name)
			}
		}
		if err := publishLeases(ctx, r, leases); err != nil {
			return err
		}
	}
}

func (c *DHCPController) start(ctx context.Context, name string, events chan<- leaseEvent, now func() time.Time, logger *slog.Logger) *dhcpLink {
	lctx, cancel := context.WithCancel(ctx)
	l := &dhcpLink{
		name: name, open: c.Open, now: now, events: events, logger: logger,
		retry: newBackoff(c.RetryInitial, c.RetryMax), minRetry: cmp.Or(c.RetryInitial, DefaultRetryInitial),
		cancel: cancel, done: make(chan struct{}),
	}
	go l.run(lctx)
	logger.Info("dhcp client started", "link", name)
	return l
}

// dhcpLinks returns the links that want DHCP and are up.
func dhcpLinks(ctx context.Context, r runtime.ControllerRuntime) (map[string]bool, error) {
	specs, err := listTyped[network.LinkSpecSpec](ctx, r, network.LinkSpecType)
	if err != nil {
		return nil, err
	}
	links, err := listTyped[network.LinkStatusSpec](ctx, r, network.LinkStatusType)
	if err != nil {
		return nil, err
	}
	up := map[string]bool{}
	for _, l := range links {
		up[l.Name] = l.Up
	}
	want := map[string]bool{}
	for _, s := range specs {
		if s.DHCP && up[s.Name] {
			want[s.Name] = true
		}
	}
	return want, nil
}

// publishLeases writes the resources of every lease and removes the rest.
func publishLeases(ctx context.Context, r runtime.ControllerRuntime, leases map[string]*dhcp.Lease) error {
	tr := runtime.NewOutputTracker(r, network.NamespaceName, network.DHCPLeaseType, network.AddressSpecType, network.RouteSpecType)
	for _, link := range slices.Sorted(maps.Keys(leases)) {
		lease, addr, route := LeaseResources(link, leases[link])
		if err := tr.Modify(ctx, network.NewDHCPLease(link), setSpec(lease)); err != nil {
			return fmt.Errorf("dhcp lease %s: %w", link, err)
		}
		if err := tr.Modify(ctx, network.NewAddressSpec(addr.Origin, link, addr.Address), setSpec(addr)); err != nil {
			return fmt.Errorf("dhcp address %s: %w", link, err)
		}
		if route == nil {
			continue
		}
		if err := tr.Modify(ctx, network.NewRouteSpec(*route), setSpec(*route)); err != nil {
			return fmt.Errorf("dhcp route %s: %w", link, err)
		}
	}
	return tr.Cleanup(ctx)
}

// LeaseResources turns a link's lease into the specs of its DHCPLease,
// its AddressSpec and its default RouteSpec (nil without a router).
func LeaseResources(link string, l *dhcp.Lease) (network.DHCPLeaseSpec, network.AddressSpecSpec, *network.RouteSpecSpec) {
	lease := network.DHCPLeaseSpec{
		Link: link, Address: l.Address.String(), Gateway: addrString(l.Gateway), Server: addrString(l.Server),
		DNS: addrStrings(l.DNS), Hostname: l.Hostname, Domain: l.Domain, NTP: addrStrings(l.NTP),
		Acquired: l.Acquired, Renew: l.RenewAt(), Rebind: l.RebindAt(), Expires: l.Expires(),
	}
	addr := network.AddressSpecSpec{Link: link, Address: l.Address.String(), Origin: network.OriginDHCP, ValidUntil: l.Expires()}
	if !l.Gateway.IsValid() {
		return lease, addr, nil
	}
	route := &network.RouteSpecSpec{
		Link: link, Destination: "0.0.0.0/0", Gateway: l.Gateway.String(), PreferredSource: l.Address.Addr().String(),
		Metric: DefaultRouteMetric, Origin: network.OriginDHCP,
	}
	return lease, addr, route
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func addrStrings(as []netip.Addr) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}
