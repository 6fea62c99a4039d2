package dhcp_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/plinth-os/plinth/internal/sys/dhcp"
)

func ack(t *testing.T, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithMessageType(dhcpv4.MessageTypeAck)}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFromACK(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	m := ack(t,
		dhcpv4.WithYourIP(net.IPv4(10, 0, 2, 15)),
		dhcpv4.WithNetmask(net.CIDRMask(24, 32)),
		dhcpv4.WithRouter(net.IPv4(10, 0, 2, 2), net.IPv4(10, 0, 2, 1)),
		dhcpv4.WithDNS(net.IPv4(10, 0, 2, 3)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(10, 0, 2, 2))),
		dhcpv4.WithOption(dhcpv4.OptNTPServers(net.IPv4(10, 0, 2, 4))),
		dhcpv4.WithOption(dhcpv4.OptHostName("Node1.")),
		dhcpv4.WithOption(dhcpv4.OptDomainName("Example.com")),
		dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(time.Hour)),
	)
	l, err := dhcp.FromACK(m, now)
	if err != nil {
		t.Fatal(err)
	}
	if l.Address != netip.MustParsePrefix("10.0.2.15/24") || l.Gateway != netip.MustParseAddr("10.0.2.2") ||
		l.Server != netip.MustParseAddr("10.0.2.2") || len(l.DNS) != 1 || len(l.NTP) != 1 ||
		l.Hostname != "node1" || l.Domain != "example.com" {
		t.Fatalf("lease %+v", l)
	}
	if l.Duration != time.Hour || l.Renew != 30*time.Minute || l.Rebind != 52*time.Minute+30*time.Second {
		t.Fatalf("times %v %v %v", l.Duration, l.Renew, l.Rebind)
	}
	if !l.Expires().Equal(now.Add(time.Hour)) || !l.RenewAt().Equal(now.Add(30*time.Minute)) || !l.RebindAt().After(l.RenewAt()) {
		t.Fatalf("deadlines %v %v %v", l.RenewAt(), l.RebindAt(), l.Expires())
	}
}

func TestFromACKDefaults(t *testing.T) {
	// No mask, no lease time, T1 after T2: classful prefix, default lease,
	// T1 and T2 put back in order.
	m := ack(t,
		dhcpv4.WithYourIP(net.IPv4(192, 168, 7, 9)),
		dhcpv4.WithOption(dhcpv4.OptRenewTimeValue(50*time.Minute)),
		dhcpv4.WithOption(dhcpv4.OptRebindingTimeValue(40*time.Minute)),
	)
	l, err := dhcp.FromACK(m, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if l.Address.Bits() != 24 || l.Duration != dhcp.DefaultLeaseTime || l.Gateway.IsValid() {
		t.Fatalf("lease %+v", l)
	}
	if l.Rebind != 40*time.Minute || l.Renew != 20*time.Minute {
		t.Fatalf("T1 %v T2 %v", l.Renew, l.Rebind)
	}
	if _, err := dhcp.FromACK(ack(t), time.Now()); err == nil {
		t.Fatal("an ACK without an address was accepted")
	}
	if _, err := dhcp.FromACK(nil, time.Now()); err == nil {
		t.Fatal("a nil ACK was accepted")
	}
}
