//go:build linux

package network_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/controllers/network"
	"github.com/plinth-os/plinth/internal/sys/dhcp"
	"github.com/plinth-os/plinth/internal/sys/dhcp/dhcptest"
	"github.com/plinth-os/plinth/internal/sys/netlink"
	"github.com/plinth-os/plinth/internal/sys/netlink/nettest"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
)

// TestNetlinkInNamespace runs the metal network controllers against the
// real kernel, in a fresh network namespace, with a DHCP server in a
// second namespace at the other end of a veth pair.
func TestNetlinkInNamespace(t *testing.T) {
	node, srv := nettest.Namespace(t), nettest.Namespace(t)
	nettest.Veth(t, node, "eth0", srv, "dhcp0")
	nettest.Veth(t, node, "ext0", node, "ext1")
	nettest.Up(t, srv, "dhcp0", "10.77.0.1/24")
	server := dhcptest.Start(t, srv, "dhcp0", dhcptest.Options{
		Server: netip.MustParseAddr("10.77.0.1"), Address: netip.MustParsePrefix("10.77.0.10/24"),
		Router: netip.MustParseAddr("10.77.0.1"), DNS: []netip.Addr{netip.MustParseAddr("10.77.0.53")},
		Lease: time.Hour,
	})
	h, err := netlink.OpenIn(node)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	open := func(link string) (dhcp.Client, error) {
		var c dhcp.Client
		err := netlink.Do(node, func() error {
			var err error
			c, err = dhcp.Open(link, dhcp.Options{Timeout: time.Second})
			return err
		})
		return c, err
	}

	harness := ctest.New(t,
		&network.LinkStatusController{Links: h, Watch: h.Watch, PollInterval: time.Second},
		&network.NetworkConfigController{},
		&network.LinkApplyController{Links: h, RetryInitial: 10 * time.Millisecond},
		&network.AddressApplyController{Addresses: h, RetryInitial: 10 * time.Millisecond},
		&network.RouteApplyController{Routes: h, RetryInitial: 10 * time.Millisecond},
		&network.DHCPController{Open: open, RetryInitial: 100 * time.Millisecond},
		&network.NodeAddressController{Addresses: h.NodeAddresses, PollInterval: time.Hour, Watch: h.Watch},
	)
	ctx, cancel := context.WithCancel(context.Background())
	harness.Run(ctx, t)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			harness.Wait(t)
		}
	}
	defer stop()

	ctest.SetConfig(t, harness.State, withInterfaces(
		v1alpha1.Interface{Interface: "eth0", DHCP: true, MTU: 1400},
		v1alpha1.Interface{Interface: "ext0", Addresses: []string{"10.98.0.2/24"},
			Routes: []v1alpha1.Route{{Network: "10.99.0.0/16", Gateway: "10.98.0.1"}}},
	))
	has := func(link, cidr string) bool {
		addrs, err := h.Addresses()
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(addrs, func(a netlink.Address) bool { return a.Link == link && a.Prefix.String() == cidr })
	}
	route := func(dst, gw string, proto int) bool {
		routes, err := h.Routes()
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(routes, func(r netlink.Route) bool {
			return r.Destination.String() == dst && r.Gateway.String() == gw && r.Protocol == proto
		})
	}
	link := func(name string) netlink.Link {
		links, err := h.Links()
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(links, func(l netlink.Link) bool { return l.Name == name })
		if i < 0 {
			t.Fatalf("no link %s", name)
		}
		return links[i]
	}
	ctest.Eventually(t, "links up, MTU set", func() bool {
		return link("lo").Up && link("eth0").Up && link("eth0").MTU == 1400 && link("ext0").Up && !link("ext1").Up
	})
	ctest.Eventually(t, "static address and route", func() bool {
		return has("ext0", "10.98.0.2/24") && route("10.99.0.0/16", "10.98.0.1", netlink.ProtoStatic)
	})
	ctest.Eventually(t, "DHCP address and default route", func() bool {
		return has("eth0", "10.77.0.10/24") && route("0.0.0.0/0", "10.77.0.1", netlink.ProtoDHCP)
	})
	ctest.Eventually(t, "node addresses", func() bool {
		got, _ := nodeAddresses(t, harness)
		return slices.Equal(got, []string{"10.77.0.10/24", "10.98.0.2/24"})
	})

	ctest.SetConfig(t, harness.State, withInterfaces(v1alpha1.Interface{Interface: "eth0", DHCP: true, MTU: 1400}))
	ctest.Eventually(t, "static address and route removed", func() bool {
		return !has("ext0", "10.98.0.2/24") && !route("10.99.0.0/16", "10.98.0.1", netlink.ProtoStatic)
	})

	stop()
	deadline := time.Now().Add(ctest.Timeout)
	for server.Count(dhcpv4.MessageTypeRelease) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no release on stop: server saw %v", server.Received())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
