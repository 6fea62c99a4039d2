package network_test

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/plinth-os/plinth/internal/controllers/network"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

func TestResolvers(t *testing.T) {
	leases := []resnet.DHCPLeaseSpec{
		{Link: "eth0", DNS: []string{"10.0.2.3", "10.0.2.4"}},
		{Link: "eth1", DNS: []string{"10.0.2.4", "10.1.0.3", "10.1.0.4"}},
	}
	for _, tt := range []struct {
		name              string
		configured, kargs []string
		leases            []resnet.DHCPLeaseSpec
		domain            string
		want              resnet.ResolversSpec
	}{
		{"config wins", []string{"1.1.1.1"}, []string{"9.9.9.9"}, leases, "example.com",
			resnet.ResolversSpec{Servers: []string{"1.1.1.1"}, Search: []string{"example.com"}, Origin: resnet.OriginConfig}},
		{"then the kernel argument", nil, []string{"9.9.9.9"}, leases, "",
			resnet.ResolversSpec{Servers: []string{"9.9.9.9"}, Origin: resnet.OriginCmdline}},
		{"then DHCP, deduplicated, at most three", nil, nil, leases, "lab",
			resnet.ResolversSpec{Servers: []string{"10.0.2.3", "10.0.2.4", "10.1.0.3"}, Search: []string{"lab"}, Origin: resnet.OriginDHCP}},
		{"else none", nil, nil, nil, "",
			resnet.ResolversSpec{Servers: []string{}}},
	} {
		if got := network.Resolvers(tt.configured, tt.kargs, tt.leases, tt.domain); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Resolvers = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestRenderResolvConf(t *testing.T) {
	got := network.RenderResolvConf(resnet.ResolversSpec{Servers: []string{"10.0.2.3", "fd00::53"}, Search: []string{"lab"}})
	want := "# Written by machined from machine.network.nameservers, the kernel's ip= or DHCP.\n" +
		"nameserver 10.0.2.3\nnameserver fd00::53\nsearch lab\n"
	if got != want {
		t.Fatalf("resolv.conf:\n%s\nwant:\n%s", got, want)
	}
	if got := network.RenderResolvConf(resnet.ResolversSpec{}); got != "# Written by machined from machine.network.nameservers, the kernel's ip= or DHCP.\n" {
		t.Fatalf("empty resolv.conf:\n%s", got)
	}
}

func TestDHCPHostname(t *testing.T) {
	for _, tt := range []struct {
		leases []resnet.DHCPLeaseSpec
		want   string
	}{
		{nil, ""},
		{[]resnet.DHCPLeaseSpec{{Hostname: "node1"}}, "node1"},
		{[]resnet.DHCPLeaseSpec{{Hostname: "node1", Domain: "lab"}}, "node1.lab"},
		{[]resnet.DHCPLeaseSpec{{Hostname: "node1.corp", Domain: "lab"}}, "node1.corp"},
		{[]resnet.DHCPLeaseSpec{{Hostname: "bad_name"}, {Hostname: "node2", Domain: "not valid"}}, "node2"},
	} {
		if got := network.DHCPHostname(tt.leases); got != tt.want {
			t.Errorf("DHCPHostname(%+v) = %q, want %q", tt.leases, got, tt.want)
		}
	}
}

func TestLeaseResources(t *testing.T) {
	l := dhcpLease(15, 0)
	lease, addr, route := network.LeaseResources("eth0", l)
	if lease.Address != "10.0.2.15/24" || lease.Server != "10.0.2.2" || !lease.Expires.Equal(l.Expires()) ||
		!reflect.DeepEqual(lease.DNS, []string{"10.0.2.3"}) || lease.Domain != "lab" {
		t.Errorf("lease %+v", lease)
	}
	if addr != (resnet.AddressSpecSpec{Link: "eth0", Address: "10.0.2.15/24", Origin: resnet.OriginDHCP, ValidUntil: l.Expires()}) {
		t.Errorf("address %+v", addr)
	}
	want := resnet.RouteSpecSpec{Link: "eth0", Destination: "0.0.0.0/0", Gateway: "10.0.2.2", PreferredSource: "10.0.2.15", Metric: 1024, Origin: resnet.OriginDHCP}
	if route == nil || *route != want {
		t.Errorf("route %+v", route)
	}
	l.Gateway = netip.Addr{}
	if _, _, route := network.LeaseResources("eth0", l); route != nil {
		t.Errorf("a lease without router gave route %+v", route)
	}
}
