// Package ntp measures the clock's offset against NTP servers (through
// github.com/beevik/ntp) and corrects the system clock: a step sets it
// (clock_settime), a slew lets the kernel's PLL absorb a small offset
// (adjtimex with ADJ_OFFSET). The decision between them is pure (Decide).
package ntp

import (
	"context"
	"fmt"
	"net"
	"time"

	beevik "github.com/beevik/ntp"
)

// DefaultTimeout bounds one query.
const DefaultTimeout = 5 * time.Second

// SlewLimit is the largest offset slewed; larger ones are stepped. The
// kernel's PLL takes at most half a second (MAXPHASE).
const SlewLimit = 500 * time.Millisecond

// Response is a server's answer.
type Response struct {
	// Offset is what to add to the local clock.
	Offset time.Duration
	// RTT is the round trip time of the query.
	RTT time.Duration
	// Stratum is the server's distance from a reference clock.
	Stratum uint8
}

// Query asks server (a host name or an IP, optionally with a port) for
// the clock's offset. ctx cancels the name lookup and the exchange.
func Query(ctx context.Context, server string, timeout time.Duration) (Response, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dial := func(_, remote string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "udp", remote)
		if err != nil {
			return nil, err
		}
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		return &stopConn{Conn: conn, stop: stop}, nil
	}
	resp, err := beevik.QueryWithOptions(server, beevik.QueryOptions{Timeout: timeout, Dialer: dial})
	if err != nil {
		return Response{}, fmt.Errorf("ntp query %s: %w", server, err)
	}
	if err := resp.Validate(); err != nil {
		return Response{}, fmt.Errorf("ntp query %s: %w", server, err)
	}
	return Response{Offset: resp.ClockOffset, RTT: resp.RTT, Stratum: resp.Stratum}, nil
}

// stopConn releases the context hook when the query closes the socket.
type stopConn struct {
	net.Conn
	stop func() bool
}

func (c *stopConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// Adjustment is how an offset is corrected.
type Adjustment string

// Adjustments.
const (
	Step Adjustment = "step"
	Slew Adjustment = "slew"
)

// Decide picks the correction: the first sync steps, as does any offset
// of SlewLimit or more; smaller ones are slewed.
func Decide(offset time.Duration, first bool) Adjustment {
	if first || offset >= SlewLimit || offset <= -SlewLimit {
		return Step
	}
	return Slew
}

// Clock corrects the system clock.
type Clock interface {
	// Step adds offset to the clock at once.
	Step(offset time.Duration) error
	// Slew has the kernel absorb offset gradually.
	Slew(offset time.Duration) error
}
