package network

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/sys/netlink"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// AddressHandle reads and changes addresses (netlink.Handle in production).
type AddressHandle interface {
	Addresses() ([]netlink.Address, error)
	ReplaceAddress(link string, p netip.Prefix, valid time.Duration) error
	DeleteAddress(link string, p netip.Prefix) error
}

// addrKey names an address on a link.
type addrKey struct {
	link   string
	prefix netip.Prefix
}

// AddressApplyController makes the kernel's addresses match the
// AddressSpecs. It adds the missing ones (with the lifetime a DHCP lease
// gives, so the kernel drops them if the lease is not renewed), refreshes
// the lifetime of those it added when their spec changes, and removes
// those it added once no spec wants them (or their lease ran out).
// Addresses it did not add are never removed. Specs of links that do not
// exist wait for the link; failures are logged and retried with backoff.
type AddressApplyController struct {
	// Addresses reads and changes the addresses.
	Addresses AddressHandle
	// Now is the clock of lifetimes; nil means time.Now.
	Now func() time.Time
	// RetryInitial and RetryMax bound the backoff of failed changes.
	RetryInitial, RetryMax time.Duration

	// added maps what this controller added to the end of its lifetime
	// (zero: forever). It survives restarts of Run.
	added map[addrKey]time.Time
}

// Name implements runtime.Controller.
func (*AddressApplyController) Name() string { return "network.AddressApplyController" }

// Inputs implements runtime.Controller.
func (*AddressApplyController) Inputs() []runtime.Input {
	return []runtime.Input{
		{Namespace: network.NamespaceName, Type: network.AddressSpecType},
		{Namespace: network.NamespaceName, Type: network.LinkStatusType},
	}
}

// Outputs implements runtime.Controller: the kernel is its only output.
func (*AddressApplyController) Outputs() []runtime.Output { return nil }

// Run implements runtime.Controller.
func (c *AddressApplyController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	if c.added == nil {
		c.added = map[addrKey]time.Time{}
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	retry := newRetryTimer(c.RetryInitial, c.RetryMax)
	defer retry.stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		case <-retry.C():
		}
		specs, err := listTyped[network.AddressSpecSpec](ctx, r, network.AddressSpecType)
		if err != nil {
			return err
		}
		links, err := listTyped[network.LinkStatusSpec](ctx, r, network.LinkStatusType)
		if err != nil {
			return err
		}
		err = c.reconcile(desiredAddresses(specs, now()), linkNames(links), now(), logger)
		if err != nil && err.Error() != lastErr {
			logger.Warn("address changes failed", "error", err)
		}
		lastErr = ""
		if err != nil {
			lastErr = err.Error()
		}
		retry.done(err != nil)
	}
}

// desiredAddresses merges the specs by link and address, dropping expired
// ones: the longest lifetime wins, zero (forever) above all.
func desiredAddresses(specs []network.AddressSpecSpec, now time.Time) map[addrKey]time.Time {
	out := map[addrKey]time.Time{}
	for _, s := range specs {
		p, err := netip.ParsePrefix(s.Address)
		if err != nil || (!s.ValidUntil.IsZero() && !s.ValidUntil.After(now)) {
			continue
		}
		k := addrKey{s.Link, p}
		cur, seen := out[k]
		switch {
		case !seen, s.ValidUntil.IsZero():
			out[k] = s.ValidUntil
		case !cur.IsZero() && s.ValidUntil.After(cur):
			out[k] = s.ValidUntil
		}
	}
	return out
}

func linkNames(links []network.LinkStatusSpec) map[string]bool {
	out := make(map[string]bool, len(links))
	for _, l := range links {
		out[l.Name] = true
	}
	return out
}

func (c *AddressApplyController) reconcile(want map[addrKey]time.Time, links map[string]bool, now time.Time, logger *slog.Logger) error {
	current, err := c.Addresses.Addresses()
	if err != nil {
		return err
	}
	present := map[addrKey]bool{}
	for _, a := range current {
		present[addrKey{a.Link, a.Prefix}] = true
	}
	var errs []error
	for k, until := range want {
		applied, ours := c.added[k]
		switch {
		case !links[k.link]:
			continue // the link is not there (yet)
		case present[k] && (!ours || applied.Equal(until)):
			continue // in place, or someone else's
		}
		var valid time.Duration
		if !until.IsZero() {
			valid = until.Sub(now)
		}
		if err := c.Addresses.ReplaceAddress(k.link, k.prefix, valid); err != nil {
			errs = append(errs, err)
			continue
		}
		if !present[k] {
			logger.Info("address added", "link", k.link, "address", k.prefix.String())
		}
		c.added[k] = until
	}
	for k := range c.added {
		if _, ok := want[k]; ok && links[k.link] {
			continue
		}
		if present[k] {
			if err := c.Addresses.DeleteAddress(k.link, k.prefix); err != nil {
				errs = append(errs, err)
				continue
			}
			logger.Info("address removed", "link", k.link, "address", k.prefix.String())
		}
		delete(c.added, k)
	}
	return errors.Join(errs...)
}
