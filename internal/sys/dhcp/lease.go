// Package dhcp is machined's DHCPv4 client: a small Client interface over
// github.com/insomniacslk/dhcp's nclient4 (raw sockets, so it works on a
// link without an address), and the Lease it hands out, decoded from the
// server's ACK.
//
// A client's life, driven by the caller (see the network controllers):
//
//	Request ──ACK──▶ bound ──T1──▶ Renew (to the server) ──ACK──▶ bound
//	   ▲                              │ no answer by T2
//	   │                              ▼
//	   └──expired / NAK──────── Rebind (broadcast) ──ACK──▶ bound
//
// Release gives the address back; Close frees the socket.
package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Client asks one link's DHCP server for leases. Implementations need not
// be safe for concurrent use.
type Client interface {
	// Request runs discover, offer, request, ack.
	Request(ctx context.Context) (*Lease, error)
	// Renew asks the lease's server to extend it (RENEWING).
	Renew(ctx context.Context, l *Lease) (*Lease, error)
	// Rebind asks any server to extend it (REBINDING).
	Rebind(ctx context.Context, l *Lease) (*Lease, error)
	// Release gives the address back.
	Release(l *Lease) error
	// Close frees the socket.
	Close() error
}

// ErrNAK is wrapped by the errors of a server's refusal.
var ErrNAK = errors.New("dhcp: server refused (NAK)")

// DefaultLeaseTime is assumed when an ACK carries no lease time.
const DefaultLeaseTime = time.Hour

// Lease is an address and the settings that came with it.
type Lease struct {
	// Address is the leased address with the subnet's prefix length.
	Address netip.Prefix
	// Gateway is the first router offered; invalid when none.
	Gateway netip.Addr
	// Server is the server identifier.
	Server netip.Addr
	// DNS and NTP are the name and time servers offered.
	DNS, NTP []netip.Addr
	// Hostname and Domain are the names offered.
	Hostname, Domain string
	// Acquired is when the ACK arrived.
	Acquired time.Time
	// Duration is the lease time; Renew (T1) and Rebind (T2) are the
	// times, from Acquired, to renew and to rebind.
	Duration, Renew, Rebind time.Duration

	// ack is the server's answer, needed to renew and release.
	ack   *dhcpv4.DHCPv4
	offer *dhcpv4.DHCPv4
}

// Expires is when the lease ends.
func (l *Lease) Expires() time.Time { return l.Acquired.Add(l.Duration) }

// RenewAt is when renewing starts (T1).
func (l *Lease) RenewAt() time.Time { return l.Acquired.Add(l.Renew) }

// RebindAt is when rebinding starts (T2).
func (l *Lease) RebindAt() time.Time { return l.Acquired.Add(l.Rebind) }

// FromACK decodes a server's ACK received at now. T1 and T2 default to
// half and seven eighths of the lease time (RFC 2131) and are kept in
// order; without a subnet mask the address's class gives the prefix.
func FromACK(ack *dhcpv4.DHCPv4, now time.Time) (*Lease, error) {
	if ack == nil {
		return nil, errors.New("dhcp: no ACK")
	}
	ip, ok := netip.AddrFromSlice(ack.YourIPAddr.To4())
	if !ok || ip.IsUnspecified() {
		return nil, fmt.Errorf("dhcp: ACK without an address (yiaddr %v)", ack.YourIPAddr)
	}
	bits := classfulBits(ip)
	if mask := ack.SubnetMask(); mask != nil {
		if ones, size := mask.Size(); size == 32 {
			bits = ones
		}
	}
	l := &Lease{
		Address: netip.PrefixFrom(ip, bits), Server: addr(ack.ServerIdentifier()),
		DNS: addrs(ack.DNS()), NTP: addrs(ack.NTPServers()),
		Hostname: strings.ToLower(strings.TrimSuffix(ack.HostName(), ".")),
		Domain:   strings.ToLower(strings.TrimSuffix(strings.TrimRight(ack.DomainName(), "\x00"), ".")),
		Acquired: now, ack: ack,
	}
	if routers := addrs(ack.Router()); len(routers) > 0 {
		l.Gateway = routers[0]
	}
	l.Duration = ack.IPAddressLeaseTime(DefaultLeaseTime)
	if l.Duration <= 0 {
		l.Duration = DefaultLeaseTime
	}
	l.Renew = ack.IPAddressRenewalTime(l.Duration / 2)
	l.Rebind = ack.IPAddressRebindingTime(l.Duration * 7 / 8)
	if l.Rebind <= 0 || l.Rebind > l.Duration {
		l.Rebind = l.Duration * 7 / 8
	}
	if l.Renew <= 0 || l.Renew > l.Rebind {
		l.Renew = l.Rebind / 2
	}
	return l, nil
}

func classfulBits(a netip.Addr) int {
	switch first := a.As4()[0]; {
	case first < 128:
		return 8
	case first < 192:
		return 16
	default:
		return 24
	}
}

func addr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok {
		return netip.Addr{}
	}
	return a
}

func addrs(ips []net.IP) []netip.Addr {
	var out []netip.Addr
	for _, ip := range ips {
		if a := addr(ip); a.IsValid() && !a.IsUnspecified() {
			out = append(out, a)
		}
	}
	return out
}
