package network

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/plinth-os/plinth/internal/sys/dhcp"
)

// leaseEvent is what a link's DHCP client reports to the controller: a
// new or extended lease, or none (expired, refused, released).
type leaseEvent struct {
	from  *dhcpLink
	lease *dhcp.Lease
}

// dhcpLink runs the DHCP client of one link in its own goroutine:
//
//	open ─▶ request ──ack──▶ bound ──T1──▶ renew ──ack──▶ bound
//	 ▲  ◀─fail: backoff─┘                   │ no answer until T2
//	 │                                      ▼
//	 └───────── expired or NAK ◀──────── rebind ──ack──▶ bound
//
// When its context ends it releases the lease it holds and closes the
// client. Failures back off from retryInitial to retryMax; the first is
// logged as a warning, the next ones at debug level until a lease comes.
type dhcpLink struct {
	name     string
	open     func(link string) (dhcp.Client, error)
	now      func() time.Time
	events   chan<- leaseEvent
	logger   *slog.Logger
	retry    *backoff
	minRetry time.Duration

	cancel context.CancelFunc
	done   chan struct{}
}

// run is the link's goroutine.
func (l *dhcpLink) run(ctx context.Context) {
	defer close(l.done)
	client := l.openClient(ctx)
	if client == nil {
		return
	}
	defer client.Close()
	var lease *dhcp.Lease
	defer func() {
		if lease == nil {
			return
		}
		if err := client.Release(lease); err != nil {
			l.logger.Warn("dhcp release failed", "link", l.name, "error", err)
			return
		}
		l.logger.Info("dhcp lease released", "link", l.name, "address", lease.Address.String())
	}()
	quiet := false
	for ctx.Err() == nil {
		if lease == nil {
			got, err := client.Request(ctx)
			if err != nil {
				l.failed(ctx, &quiet, "dhcp request failed (retrying)", err)
				continue
			}
			quiet = false
			l.retry.reset()
			lease = got
			l.logger.Info("dhcp lease acquired", "link", l.name, "address", lease.Address.String(),
				"gateway", addrString(lease.Gateway), "server", addrString(lease.Server), "lease", lease.Duration)
			l.report(ctx, lease)
			continue
		}
		if !sleepUntil(ctx, lease.RenewAt(), l.now) {
			return
		}
		lease = l.extend(ctx, client, lease)
		if lease == nil && ctx.Err() == nil {
			l.report(ctx, nil)
		}
	}
}

// openClient opens the client, retrying with backoff; nil when ctx ends.
func (l *dhcpLink) openClient(ctx context.Context) dhcp.Client {
	quiet := false
	for ctx.Err() == nil {
		c, err := l.open(l.name)
		if err == nil {
			l.retry.reset()
			return c
		}
		l.failed(ctx, &quiet, "dhcp client cannot start (retrying)", err)
	}
	return nil
}

// failed logs err (quietly after the first time) and sleeps the backoff.
func (l *dhcpLink) failed(ctx context.Context, quiet *bool, msg string, err error) {
	level := slog.LevelWarn
	if *quiet {
		level = slog.LevelDebug
	}
	if ctx.Err() == nil {
		l.logger.Log(ctx, level, msg, "link", l.name, "error", err)
	}
	*quiet = true
	sleepUntil(ctx, l.now().Add(l.retry.next()), l.now)
}

// extend renews the lease until T2, then rebinds it until it expires. It
// returns the extended lease, or nil when it expired, was refused or ctx
// ended (then the lease is returned so that it is released).
func (l *dhcpLink) extend(ctx context.Context, client dhcp.Client, lease *dhcp.Lease) *dhcp.Lease {
	steps := []struct {
		what     string
		deadline time.Time
		fn       func(context.Context, *dhcp.Lease) (*dhcp.Lease, error)
	}{
		{"renewed", lease.RebindAt(), client.Renew},
		{"rebound", lease.Expires(), client.Rebind},
	}
	for _, s := range steps {
		for l.now().Before(s.deadline) {
			actx, cancel := context.WithDeadline(ctx, s.deadline)
			got, err := s.fn(actx, lease)
			cancel()
			switch {
			case ctx.Err() != nil:
				return lease
			case err == nil:
				l.logger.Info("dhcp lease extended", "link", l.name, "how", s.what, "address", got.Address.String(), "lease", got.Duration)
				if got.Address != lease.Address {
					l.logger.Info("dhcp lease changed address", "link", l.name, "old", lease.Address.String())
				}
				l.report(ctx, got)
				return got
			case errors.Is(err, dhcp.ErrNAK):
				l.logger.Warn("dhcp lease refused by the server", "link", l.name, "address", lease.Address.String(), "error", err)
				return nil
			}
			l.logger.Debug("dhcp lease extension failed", "link", l.name, "error", err)
			// RFC 2131: wait half the time left, at least minRetry.
			wait := max(s.deadline.Sub(l.now())/2, l.minRetry)
			if !sleepUntil(ctx, minTime(l.now().Add(wait), s.deadline), l.now) {
				return lease
			}
		}
	}
	l.logger.Warn("dhcp lease expired", "link", l.name, "address", lease.Address.String())
	return nil
}

// report sends the lease to the controller unless ctx ended.
func (l *dhcpLink) report(ctx context.Context, lease *dhcp.Lease) {
	select {
	case l.events <- leaseEvent{from: l, lease: lease}:
	case <-ctx.Done():
	}
}

// sleepUntil waits until t (by now's clock, on a real timer) or ctx ends;
// it reports whether ctx is still alive.
func sleepUntil(ctx context.Context, t time.Time, now func() time.Time) bool {
	d := t.Sub(now())
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
