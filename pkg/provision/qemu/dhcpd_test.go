package qemu

import (
	"errors"
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func testLeases(t *testing.T) (*leaseTable, net.HardwareAddr) {
	t.Helper()
	table, err := newLeaseTable(testSpec("/state/demo"))
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := net.ParseMAC("52:54:aa:bb:00:02")
	return table, mac
}

func TestLeaseTableBadSpec(t *testing.T) {
	s := testSpec("/state/demo")
	s.Nodes[0].MAC = "nope"
	if _, err := newLeaseTable(s); err == nil {
		t.Error("a bad MAC was accepted")
	}
	s = testSpec("/state/demo")
	s.Nodes[0].IP = s.Gateway.Prev().Prev() // 10.4.255.255
	if _, err := newLeaseTable(s); err == nil {
		t.Error("an address outside the subnet was accepted")
	}
}

func TestLeaseOfferAndAck(t *testing.T) {
	table, mac := testLeases(t)
	disc, err := dhcpv4.NewDiscovery(mac)
	if err != nil {
		t.Fatal(err)
	}
	offer, node, err := table.reply(disc)
	if err != nil {
		t.Fatal(err)
	}
	if node != "demo-worker-1" || offer.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("offer for %s: %s", node, offer.Summary())
	}
	checkLease(t, offer)
	if offer.TransactionID != disc.TransactionID {
		t.Error("offer has another transaction id")
	}

	req, err := dhcpv4.NewRequestFromOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	ack, _, err := table.reply(req)
	if err != nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("request: %v %v", ack, err)
	}
	checkLease(t, ack)
	if got := replyAddr(req); !got.IP.Equal(net.IPv4bcast) || got.Port != dhcpv4.ClientPort {
		t.Errorf("a client without an address is answered at %s", got)
	}
}

func checkLease(t *testing.T, m *dhcpv4.DHCPv4) {
	t.Helper()
	if !m.YourIPAddr.Equal(net.ParseIP("10.5.0.3")) {
		t.Errorf("address %s, want 10.5.0.3", m.YourIPAddr)
	}
	if r := m.Router(); len(r) != 1 || !r[0].Equal(net.ParseIP("10.5.0.1")) {
		t.Errorf("router %v", r)
	}
	if ones, _ := net.IPMask(m.SubnetMask()).Size(); ones != 24 {
		t.Errorf("mask /%d", ones)
	}
	if !m.ServerIdentifier().Equal(net.ParseIP("10.5.0.1")) {
		t.Errorf("server id %s", m.ServerIdentifier())
	}
	if lt := m.IPAddressLeaseTime(0); lt != DefaultLeaseTime {
		t.Errorf("lease time %s", lt)
	}
	if len(m.DNS()) != 0 {
		t.Errorf("DNS offered: %v", m.DNS())
	}
}

func TestLeaseRenewAndNak(t *testing.T) {
	table, mac := testLeases(t)
	renew, err := dhcpv4.New(dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithClientIP(net.ParseIP("10.5.0.3")))
	if err != nil {
		t.Fatal(err)
	}
	ack, _, err := table.reply(renew)
	if err != nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("renew: %v %v", ack, err)
	}
	if got := replyAddr(renew); !got.IP.Equal(net.ParseIP("10.5.0.3")) {
		t.Errorf("a renewing client is answered at %s", got)
	}

	wrong, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("10.5.0.9"))))
	nak, _, err := table.reply(wrong)
	if err != nil || nak.MessageType() != dhcpv4.MessageTypeNak || !nak.YourIPAddr.IsUnspecified() {
		t.Fatalf("request of another address: %v %v", nak, err)
	}
}

func TestLeaseNoReply(t *testing.T) {
	table, mac := testLeases(t)
	stranger, _ := net.ParseMAC("02:00:00:00:00:99")
	disc, _ := dhcpv4.NewDiscovery(stranger)
	otherServer, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP("10.5.0.254"))))
	release, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease))
	reply, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac), dhcpv4.WithReply(disc))
	for name, m := range map[string]*dhcpv4.DHCPv4{
		"unknown client": disc, "other server chosen": otherServer, "release": release, "a reply": reply,
	} {
		if resp, _, err := table.reply(m); !errors.Is(err, errNoReply) || resp != nil {
			t.Errorf("%s: answered %v, %v", name, resp, err)
		}
	}
}
