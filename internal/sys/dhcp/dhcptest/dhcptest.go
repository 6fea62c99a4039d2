//go:build linux

// Package dhcptest runs a tiny DHCPv4 server (insomniacslk/dhcp's server4)
// in a network namespace, for root tests of DHCP clients over a veth pair.
// It hands out one address to whoever asks and answers by broadcast.
package dhcptest

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/vishvananda/netns"

	"github.com/plinth-os/plinth/internal/sys/netlink"
)

// Options are what the server offers.
type Options struct {
	// Server is the server's own address on Link (it must be there).
	Server netip.Addr
	// Address is the address offered, with the subnet's prefix length.
	Address netip.Prefix
	// Router is offered when set.
	Router netip.Addr
	// DNS is offered when set.
	DNS []netip.Addr
	// NTP is offered when set.
	NTP []netip.Addr
	// Hostname is offered when set.
	Hostname string
	// Domain is offered when set.
	Domain string
	// Lease is the lease time (default 1h); T1 and T2 default to half and
	// seven eighths of it.
	Lease, T1, T2 time.Duration
}

// Server is a running test server.
type Server struct {
	opts Options
	srv  *server4.Server
	done chan struct{}

	mu       sync.Mutex
	received []dhcpv4.MessageType
	nak      bool
}

// Start serves on link inside ns until the test ends.
func Start(t *testing.T, ns netns.NsHandle, link string, opts Options) *Server {
	t.Helper()
	if opts.Lease == 0 {
		opts.Lease = time.Hour
	}
	s := &Server{opts: opts, done: make(chan struct{})}
	err := netlink.Do(ns, func() error {
		conn, err := server4.NewIPv4UDPConn(link, &net.UDPAddr{Port: dhcpv4.ServerPort})
		if err != nil {
			return err
		}
		s.srv, err = server4.NewServer(link, nil, s.handle, server4.WithConn(conn))
		return err
	})
	if err != nil {
		t.Fatalf("dhcp test server: %v", err)
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve()
	}()
	t.Cleanup(func() {
		_ = s.srv.Close()
		<-s.done
	})
	return s
}

// Received returns the types of the messages received so far.
func (s *Server) Received() []dhcpv4.MessageType {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// Count returns how many messages of type typ were received.
func (s *Server) Count(typ dhcpv4.MessageType) int {
	n := 0
	for _, m := range s.Received() {
		if m == typ {
			n++
		}
	}
	return n
}

// NAK makes the server refuse (true) or accept (false) requests.
func (s *Server) NAK(refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nak = refuse
}

func (s *Server) handle(conn net.PacketConn, _ net.Addr, m *dhcpv4.DHCPv4) {
	s.mu.Lock()
	s.received = append(s.received, m.MessageType())
	nak := s.nak
	s.mu.Unlock()
	var reply dhcpv4.MessageType
	switch m.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		reply = dhcpv4.MessageTypeOffer
	case dhcpv4.MessageTypeRequest:
		reply = dhcpv4.MessageTypeAck
		if nak {
			reply = dhcpv4.MessageTypeNak
		}
	default:
		return
	}
	resp, err := s.reply(m, reply)
	if err != nil {
		return
	}
	_, _ = conn.WriteTo(resp.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort})
}

func (s *Server) reply(m *dhcpv4.DHCPv4, typ dhcpv4.MessageType) (*dhcpv4.DHCPv4, error) {
	o := s.opts
	mods := []dhcpv4.Modifier{
		dhcpv4.WithMessageType(typ),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(o.Server.AsSlice())),
	}
	if typ == dhcpv4.MessageTypeNak {
		return dhcpv4.NewReplyFromRequest(m, mods...)
	}
	mods = append(mods,
		dhcpv4.WithYourIP(o.Address.Addr().AsSlice()),
		dhcpv4.WithNetmask(net.CIDRMask(o.Address.Bits(), 32)),
		dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(o.Lease)),
	)
	if o.T1 > 0 {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRenewTimeValue(o.T1)))
	}
	if o.T2 > 0 {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRebindingTimeValue(o.T2)))
	}
	if o.Router.IsValid() {
		mods = append(mods, dhcpv4.WithRouter(o.Router.AsSlice()))
	}
	if len(o.DNS) > 0 {
		mods = append(mods, dhcpv4.WithDNS(ips(o.DNS)...))
	}
	if len(o.NTP) > 0 {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptNTPServers(ips(o.NTP)...)))
	}
	if o.Hostname != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(o.Hostname)))
	}
	if o.Domain != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDomainName(o.Domain)))
	}
	if !o.Address.IsValid() {
		return nil, errors.New("no address to offer")
	}
	return dhcpv4.NewReplyFromRequest(m, mods...)
}

func ips(as []netip.Addr) []net.IP {
	out := make([]net.IP, len(as))
	for i, a := range as {
		out[i] = a.AsSlice()
	}
	return out
}
