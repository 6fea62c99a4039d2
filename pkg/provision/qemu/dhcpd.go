package qemu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
)

// DefaultLeaseTime is how long a node's DHCP lease lasts; it renews at
// half of it. The address never changes: leases are static.
const DefaultLeaseTime = 12 * time.Hour

// errNoReply marks client messages that get no answer.
var errNoReply = errors.New("no reply")

// leaseTable answers DHCPv4 clients from static leases by MAC address. The
// gateway is the server, the router and the only address it speaks for;
// it offers no DNS server (nodes have no internet here).
type leaseTable struct {
	server    netip.Addr
	subnet    netip.Prefix
	leaseTime time.Duration
	byMAC     map[string]lease
}

// lease is one node's address.
type lease struct {
	node string
	ip   netip.Addr
}

// newLeaseTable builds the table of the spec's nodes.
func newLeaseTable(s *Spec) (*leaseTable, error) {
	t := &leaseTable{server: s.Gateway, subnet: s.Network.Masked(), leaseTime: DefaultLeaseTime, byMAC: map[string]lease{}}
	for _, n := range s.Nodes {
		mac, err := net.ParseMAC(n.MAC)
		if err != nil {
			return nil, fmt.Errorf("node %s: MAC %q: %w", n.Name, n.MAC, err)
		}
		if !t.subnet.Contains(n.IP) {
			return nil, fmt.Errorf("node %s: address %s is outside %s", n.Name, n.IP, t.subnet)
		}
		t.byMAC[mac.String()] = lease{node: n.Name, ip: n.IP}
	}
	return t, nil
}

// reply is the answer to a client message and the node it is for; a
// message that gets none returns an error wrapping errNoReply.
func (t *leaseTable) reply(req *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, string, error) {
	if req.OpCode != dhcpv4.OpcodeBootRequest {
		return nil, "", fmt.Errorf("%w: not a request", errNoReply)
	}
	l, ok := t.byMAC[req.ClientHWAddr.String()]
	if !ok {
		return nil, "", fmt.Errorf("%w: unknown client %s", errNoReply, req.ClientHWAddr)
	}
	var typ dhcpv4.MessageType
	switch req.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		typ = dhcpv4.MessageTypeOffer
	case dhcpv4.MessageTypeRequest:
		if sid := req.ServerIdentifier(); sid != nil && !sid.IsUnspecified() && !sid.Equal(t.server.AsSlice()) {
			return nil, l.node, fmt.Errorf("%w: %s chose server %s", errNoReply, l.node, sid)
		}
		typ = dhcpv4.MessageTypeAck
		if want := requestedIP(req); want.IsValid() && want != l.ip {
			typ = dhcpv4.MessageTypeNak
		}
	default:
		return nil, l.node, fmt.Errorf("%w: %s message from %s", errNoReply, req.MessageType(), l.node)
	}
	mods := []dhcpv4.Modifier{
		dhcpv4.WithMessageType(typ),
		dhcpv4.WithServerIP(t.server.AsSlice()),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(t.server.AsSlice())),
	}
	if typ != dhcpv4.MessageTypeNak {
		mods = append(mods,
			dhcpv4.WithYourIP(l.ip.AsSlice()),
			dhcpv4.WithNetmask(net.CIDRMask(t.subnet.Bits(), 32)),
			dhcpv4.WithRouter(t.server.AsSlice()),
			dhcpv4.WithOption(dhcpv4.OptBroadcastAddress(broadcastOf(t.subnet).AsSlice())),
			dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(t.leaseTime)),
			dhcpv4.WithOption(dhcpv4.OptRenewTimeValue(t.leaseTime/2)),
			dhcpv4.WithOption(dhcpv4.OptRebindingTimeValue(t.leaseTime*7/8)),
		)
	}
	resp, err := dhcpv4.NewReplyFromRequest(req, mods...)
	if err != nil {
		return nil, l.node, fmt.Errorf("dhcp reply to %s: %w", l.node, err)
	}
	return resp, l.node, nil
}

// requestedIP is the address a REQUEST asks for: option 50 when selecting
// or rebooting, the client address when renewing.
func requestedIP(req *dhcpv4.DHCPv4) netip.Addr {
	for _, ip := range []net.IP{req.RequestedIPAddress(), req.ClientIPAddr} {
		if a, ok := netip.AddrFromSlice(ip.To4()); ok && !a.IsUnspecified() {
			return a
		}
	}
	return netip.Addr{}
}

// replyAddr is where a reply goes: to a client that has its address
// (renewing) directly, else by broadcast on the link.
func replyAddr(req *dhcpv4.DHCPv4) *net.UDPAddr {
	if ip := req.ClientIPAddr.To4(); ip != nil && !ip.IsUnspecified() {
		return &net.UDPAddr{IP: ip, Port: dhcpv4.ClientPort}
	}
	return &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}
}

// dhcpServer serves a lease table on one link.
type dhcpServer struct {
	srv   *server4.Server
	table *leaseTable
	log   *slog.Logger
	// onAck is told of every address handed out.
	onAck func(node string)
	done  chan struct{}
}

// startDHCP serves table on link (the host end of the cluster network)
// until close.
func startDHCP(link string, table *leaseTable, log *slog.Logger, onAck func(node string)) (*dhcpServer, error) {
	d := &dhcpServer{table: table, log: log, onAck: onAck, done: make(chan struct{})}
	srv, err := server4.NewServer(link, &net.UDPAddr{Port: dhcpv4.ServerPort}, d.handle)
	if err != nil {
		hint := ""
		if strings.Contains(err.Error(), "address already in use") {
			hint = " (another DHCP server on the host holds port 67 on every interface: bind it to its own interfaces, e.g. dnsmasq --bind-interfaces)"
		}
		return nil, fmt.Errorf("DHCP server on %s: %w%s", link, err, hint)
	}
	d.srv = srv
	go func() {
		defer close(d.done)
		_ = srv.Serve()
	}()
	return d, nil
}

func (d *dhcpServer) handle(conn net.PacketConn, _ net.Addr, req *dhcpv4.DHCPv4) {
	resp, node, err := d.table.reply(req)
	if err != nil {
		if !errors.Is(err, errNoReply) || node != "" {
			d.log.Debug("dhcp message not answered", "reason", err)
		}
		return
	}
	if _, err := conn.WriteTo(resp.ToBytes(), replyAddr(req)); err != nil {
		d.log.Warn("dhcp reply not sent", "node", node, "error", err)
		return
	}
	d.log.Info("dhcp reply", "node", node, "type", strings.ToLower(resp.MessageType().String()), "address", resp.YourIPAddr)
	if resp.MessageType() == dhcpv4.MessageTypeAck && d.onAck != nil {
		d.onAck(node)
	}
}

// close stops the server.
func (d *dhcpServer) close() {
	_ = d.srv.Close()
	<-d.done
}
