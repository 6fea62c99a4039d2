package network_test

import (
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/controllers/network"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/sys/cmdline"
	"github.com/plinth-os/plinth/internal/sys/dhcp"
	"github.com/plinth-os/plinth/internal/sys/netlink"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

const fast = 5 * time.Millisecond

func machineLinks() []netlink.Link {
	return []netlink.Link{
		{Index: 1, Name: "lo", Kind: "loopback", MTU: 65536},
		{Index: 2, Name: "eth0", Kind: "device", Physical: true, HardwareAddr: "52:54:00:00:00:01", MTU: 1500},
		{Index: 3, Name: "eth1", Kind: "device", Physical: true, HardwareAddr: "52:54:00:00:00:02", MTU: 1500},
		{Index: 4, Name: "veth9", Kind: "veth", MTU: 1500},
	}
}

// stack returns the network controllers of metal mode over fakes.
func stack(k *fakeKernel, d *fakeDHCP, ip *cmdline.IPConfig, root string) []runtime.Controller {
	return []runtime.Controller{
		&network.LinkStatusController{Links: k, PollInterval: fast},
		&network.NetworkConfigController{IP: ip},
		&network.LinkApplyController{Links: k, RetryInitial: fast, RetryMax: 4 * fast},
		&network.AddressApplyController{Addresses: k, RetryInitial: fast, RetryMax: 4 * fast},
		&network.RouteApplyController{Routes: k, RetryInitial: fast, RetryMax: 4 * fast},
		&network.DHCPController{Open: d.open, RetryInitial: fast, RetryMax: 4 * fast},
		&network.HostnameController{Root: root, MachineID: "abcdef"},
		&network.ResolvConfController{Root: root},
	}
}

func TestApplyConfig(t *testing.T) {
	k := newFakeKernel(machineLinks()...)
	foreign := netip.MustParsePrefix("192.168.50.5/24")
	if err := k.ReplaceAddress("eth0", foreign, 0); err != nil {
		t.Fatal(err)
	}
	d := newFakeDHCP()
	h := ctest.New(t, stack(k, d, nil, t.TempDir())...)

	// The config is there from the start: without one, DHCP would run.
	m := withInterfaces(
		v1alpha1.Interface{Interface: "eth0", MTU: 1450, Addresses: []string{"10.5.0.2/24"},
			Routes: []v1alpha1.Route{{Network: "0.0.0.0/0", Gateway: "10.5.0.1"}, {Network: "10.6.0.0/16", Gateway: "10.5.0.254", Metric: 5}}},
		v1alpha1.Interface{Interface: "eth1", Ignore: true},
	)
	ctest.SetConfig(t, h.State, m)
	h.Start(t)
	ctest.Eventually(t, "config applied", func() bool {
		eth0, _ := k.link("eth0")
		lo, _ := k.link("lo")
		return lo.Up && eth0.Up && eth0.MTU == 1450 && k.hasAddr("eth0", "10.5.0.2/24") &&
			k.hasRoute("eth0", "0.0.0.0/0", "10.5.0.1") && k.hasRoute("eth0", "10.6.0.0/16", "10.5.0.254")
	})
	if eth1, _ := k.link("eth1"); eth1.Up {
		t.Error("the ignored eth1 was brought up")
	}
	if veth, _ := k.link("veth9"); veth.Up {
		t.Error("a virtual link was brought up")
	}

	// The address and the routes leave with the config; the address the
	// controllers did not add stays.
	ctest.SetConfig(t, h.State, withInterfaces(v1alpha1.Interface{Interface: "eth0"}, v1alpha1.Interface{Interface: "eth1", Ignore: true}))
	ctest.Eventually(t, "address and routes removed", func() bool {
		return !k.hasAddr("eth0", "10.5.0.2/24") && !k.hasRoute("eth0", "0.0.0.0/0", "10.5.0.1") &&
			!k.hasRoute("eth0", "10.6.0.0/16", "10.5.0.254")
	})
	if !k.hasAddr("eth0", foreign.String()) {
		t.Fatal("an address the controllers did not add was removed")
	}
	if calls, _, opened, _ := d.get(); opened != 0 || len(calls) != 0 {
		t.Fatalf("DHCP ran without being asked: %v", calls)
	}
}

// dhcpLease is a lease of 10.0.2.<host>/24 that renews at renew.
func dhcpLease(host byte, renew time.Duration) *dhcp.Lease {
	return &dhcp.Lease{
		Address: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 2, host}), 24),
		Gateway: netip.MustParseAddr("10.0.2.2"), Server: netip.MustParseAddr("10.0.2.2"),
		DNS: []netip.Addr{netip.MustParseAddr("10.0.2.3")}, NTP: []netip.Addr{netip.MustParseAddr("10.0.2.4")},
		Hostname: "node-a", Domain: "lab",
		Duration: time.Hour, Renew: renew, Rebind: 50 * time.Minute,
	}
}

func TestDHCPLeaseLifecycle(t *testing.T) {
	k := newFakeKernel(machineLinks()...)
	d := newFakeDHCP()
	d.script("eth0",
		answer{lease: dhcpLease(15, 30*time.Millisecond)}, // request
		answer{lease: dhcpLease(15, time.Hour)},           // renew at T1
	)
	root := t.TempDir()
	h := ctest.New(t, stack(k, d, nil, root)...)
	h.Start(t)

	// No config: DHCP on both physical links; eth1 never answers.
	ctest.Eventually(t, "lease applied", func() bool {
		return k.hasAddr("eth0", "10.0.2.15/24") && k.hasRoute("eth0", "0.0.0.0/0", "10.0.2.2")
	})
	if lt := k.addrLifetime("eth0", "10.0.2.15/24"); lt <= 0 || lt > time.Hour {
		t.Fatalf("address lifetime %v, want the lease's", lt)
	}
	ctest.Eventually(t, "renewed", func() bool {
		calls, _, _, _ := d.get()
		return slices.Contains(calls, "renew eth0")
	})
	lease := ctest.Get[resnet.DHCPLeaseSpec](t, h.State, resnet.NamespaceName, resnet.DHCPLeaseType, "eth0")
	if lease == nil || lease.TypedSpec().Hostname != "node-a" || lease.TypedSpec().Gateway != "10.0.2.2" ||
		!slices.Equal(lease.TypedSpec().NTP, []string{"10.0.2.4"}) {
		t.Fatalf("lease resource %+v", lease)
	}
	ctest.Eventually(t, "hostname from DHCP", func() bool { return hostname(t, h).FQDN == "node-a.lab" })
	ctest.Eventually(t, "resolv.conf from DHCP", func() bool {
		c := readFile(t, filepath.Join(root, "etc", "resolv.conf"))
		return strings.Contains(c, "nameserver 10.0.2.3\n") && strings.Contains(c, "search lab\n")
	})

	// The config turns DHCP off on eth0: the lease is released and its
	// address and route go away.
	ctest.SetConfig(t, h.State, withInterfaces(v1alpha1.Interface{Interface: "eth0", Addresses: []string{"10.9.0.2/24"}}))
	ctest.Eventually(t, "lease released", func() bool {
		_, released, opened, closed := d.get()
		return slices.Equal(released, []string{"eth0 10.0.2.15/24"}) && closed == opened
	})
	ctest.Eventually(t, "DHCP address removed", func() bool {
		return !k.hasAddr("eth0", "10.0.2.15/24") && !k.hasRoute("eth0", "0.0.0.0/0", "10.0.2.2") && k.hasAddr("eth0", "10.9.0.2/24")
	})
	ctest.Eventually(t, "lease resource removed", func() bool {
		return ctest.Get[resnet.DHCPLeaseSpec](t, h.State, resnet.NamespaceName, resnet.DHCPLeaseType, "eth0") == nil
	})
	ctest.Eventually(t, "default hostname again", func() bool { return hostname(t, h).Hostname == "plinth-abcdef" })
}

func TestDHCPRefusedLeaseStartsOver(t *testing.T) {
	k := newFakeKernel(machineLinks()...)
	d := newFakeDHCP()
	d.script("eth0",
		answer{lease: dhcpLease(15, 10*time.Millisecond)},
		answer{err: dhcp.ErrNAK},                // renew refused: start over
		answer{err: errUnreachable},             // request fails: back off
		answer{lease: dhcpLease(16, time.Hour)}, // new address
	)
	h := ctest.New(t, stack(k, d, mustIP(t, ":::::eth0:dhcp"), t.TempDir())...)
	h.Start(t)
	ctest.Eventually(t, "second lease applied", func() bool {
		return k.hasAddr("eth0", "10.0.2.16/24") && !k.hasAddr("eth0", "10.0.2.15/24")
	})
	calls, _, _, _ := d.get()
	if want := []string{"request eth0", "renew eth0", "request eth0", "request eth0"}; !slices.Equal(calls, want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
	if !strings.Contains(h.Logs.String(), "dhcp lease refused") {
		t.Fatalf("refusal not logged:\n%s", h.Logs.String())
	}
}

func TestStaticFromKernelArgument(t *testing.T) {
	k := newFakeKernel(machineLinks()...)
	root := t.TempDir()
	ip := mustIP(t, "10.0.2.15::10.0.2.2:24:node7.example.org:eth1:off:10.0.2.3")
	h := ctest.New(t, append(stack(k, newFakeDHCP(), ip, root)[:6],
		&network.HostnameController{Root: root, MachineID: "abcdef", KernelHostname: ip.Hostname},
		&network.ResolvConfController{Root: root, KernelNameservers: ip.DNS})...)
	h.Start(t)
	ctest.Eventually(t, "static address and route", func() bool {
		return k.hasAddr("eth1", "10.0.2.15/24") && k.hasRoute("eth1", "0.0.0.0/0", "10.0.2.2")
	})
	ctest.Eventually(t, "hostname and resolvers", func() bool {
		c := readFile(t, filepath.Join(root, "etc", "resolv.conf"))
		return hostname(t, h).FQDN == "node7.example.org" && strings.Contains(c, "nameserver 10.0.2.3\nsearch example.org\n")
	})
}
