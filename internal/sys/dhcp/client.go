//go:build linux

package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
)

// Options tune a client.
type Options struct {
	// Timeout is how long one message waits for an answer (default 5s).
	Timeout time.Duration
	// Retries is how many times a message is sent (default 3).
	Retries int
	// Now stamps leases; nil means time.Now.
	Now func() time.Time
}

// requested are the options asked of the server.
var requested = dhcpv4.WithRequestedOptions(
	dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer,
	dhcpv4.OptionHostName, dhcpv4.OptionDomainName, dhcpv4.OptionNTPServers,
	dhcpv4.OptionIPAddressLeaseTime, dhcpv4.OptionRenewTimeValue, dhcpv4.OptionRebindingTimeValue,
)

type client struct {
	c    *nclient4.Client
	conn net.PacketConn // the raw socket c sends through
	now  func() time.Time
}

// Open returns a client on the link named iface, which may have no
// address. The raw socket lives in the calling thread's network namespace.
func Open(iface string, opts Options) (Client, error) {
	var copts []nclient4.ClientOpt
	if opts.Timeout > 0 {
		copts = append(copts, nclient4.WithTimeout(opts.Timeout))
	}
	if opts.Retries > 0 {
		copts = append(copts, nclient4.WithRetry(opts.Retries))
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("dhcp client on %s: %w", iface, err)
	}
	conn, err := nclient4.NewRawUDPConn(iface, nclient4.ClientPort)
	if err != nil {
		return nil, fmt.Errorf("dhcp client on %s: %w", iface, err)
	}
	c, err := nclient4.NewWithConn(conn, ifi.HardwareAddr, copts...)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("dhcp client on %s: %w", iface, err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &client{c: c, conn: conn, now: now}, nil
}

func (c *client) lease(raw *nclient4.Lease, err error) (*Lease, error) {
	var nak *nclient4.ErrNak
	if errors.As(err, &nak) {
		return nil, fmt.Errorf("%w: %s", ErrNAK, nak.Nak.Message())
	}
	if err != nil {
		return nil, fmt.Errorf("dhcp: %w", err)
	}
	l, err := FromACK(raw.ACK, c.now())
	if err != nil {
		return nil, err
	}
	l.offer = raw.Offer
	return l, nil
}

func (c *client) Request(ctx context.Context) (*Lease, error) {
	return c.lease(c.c.Request(ctx, requested))
}

func (c *client) Renew(ctx context.Context, l *Lease) (*Lease, error) {
	if l == nil || l.ack == nil {
		return nil, errors.New("dhcp: renew: no lease")
	}
	return c.lease(c.c.Renew(ctx, &nclient4.Lease{Offer: l.offer, ACK: l.ack}, requested))
}

func (c *client) Rebind(ctx context.Context, l *Lease) (*Lease, error) {
	if l == nil || l.ack == nil {
		return nil, errors.New("dhcp: rebind: no lease")
	}
	req, err := dhcpv4.NewRenewFromAck(l.ack, requested, dhcpv4.WithBroadcast(true))
	if err != nil {
		return nil, fmt.Errorf("dhcp: rebind: %w", err)
	}
	resp, err := c.c.SendAndRead(ctx, c.c.RemoteAddr(), req,
		nclient4.IsMessageType(dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak))
	if err != nil {
		return nil, fmt.Errorf("dhcp: rebind: %w", err)
	}
	if resp.MessageType() == dhcpv4.MessageTypeNak {
		return nil, fmt.Errorf("%w: %s", ErrNAK, resp.Message())
	}
	return c.lease(&nclient4.Lease{Offer: l.offer, ACK: resp}, nil)
}

// Release broadcasts the release (with the server identifier): the raw
// socket has no source address, and a server's kernel drops unicast from
// 0.0.0.0.
func (c *client) Release(l *Lease) error {
	if l == nil || l.ack == nil {
		return nil
	}
	req, err := dhcpv4.NewReleaseFromACK(l.ack)
	if err != nil {
		return fmt.Errorf("dhcp: release: %w", err)
	}
	dst := &net.UDPAddr{IP: net.IPv4bcast, Port: nclient4.ServerPort}
	if _, err := c.conn.WriteTo(req.ToBytes(), dst); err != nil {
		return fmt.Errorf("dhcp: release: %w", err)
	}
	return nil
}

func (c *client) Close() error {
	if err := c.c.Close(); err != nil {
		return fmt.Errorf("dhcp: close: %w", err)
	}
	return nil
}
