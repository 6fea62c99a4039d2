package network

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"syscall"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/sys/netlink"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// RouteHandle reads and changes routes (netlink.Handle in production).
type RouteHandle interface {
	Routes() ([]netlink.Route, error)
	AddRoute(r netlink.Route) error
	DeleteRoute(r netlink.Route) error
}

// routeKey identifies a route: where it goes, through what, at what cost.
type routeKey struct {
	link    string
	dst     netip.Prefix
	gateway netip.Addr
	metric  uint32
}

func keyOf(r netlink.Route) routeKey {
	return routeKey{link: r.Link, dst: r.Destination, gateway: r.Gateway, metric: r.Metric}
}

// RouteApplyController makes the main routing table match the RouteSpecs:
// it adds the missing routes (protocol dhcp or static after their origin)
// and removes the routes it added once no spec wants them. Routes it did
// not add are never removed. A route whose gateway is not reachable yet
// (ENETUNREACH: its address is still being added) is retried with backoff
// quietly; any other failure is logged and retried.
type RouteApplyController struct {
	// Routes reads and changes the routes.
	Routes RouteHandle
	// RetryInitial and RetryMax bound the backoff of failed changes.
	RetryInitial, RetryMax time.Duration

	// added holds what this controller added; it survives restarts of Run.
	added map[routeKey]netlink.Route
}

// Name implements runtime.Controller.
func (*RouteApplyController) Name() string { return "network.RouteApplyController" }

// Inputs implements runtime.Controller.
func (*RouteApplyController) Inputs() []runtime.Input {
	return []runtime.Input{
		{Namespace: network.NamespaceName, Type: network.RouteSpecType},
		{Namespace: network.NamespaceName, Type: network.AddressSpecType},
		{Namespace: network.NamespaceName, Type: network.LinkStatusType},
	}
}

// Outputs implements runtime.Controller: the kernel is its only output.
func (*RouteApplyController) Outputs() []runtime.Output { return nil }

// Run implements runtime.Controller.
func (c *RouteApplyController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	if c.added == nil {
		c.added = map[routeKey]netlink.Route{}
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
		specs, err := listTyped[network.RouteSpecSpec](ctx, r, network.RouteSpecType)
		if err != nil {
			return err
		}
		links, err := listTyped[network.LinkStatusSpec](ctx, r, network.LinkStatusType)
		if err != nil {
			return err
		}
		err = c.reconcile(desiredRoutes(specs), linkNames(links), logger)
		if err != nil && !errors.Is(err, errPending) && err.Error() != lastErr {
			logger.Warn("route changes failed (retrying)", "error", err)
		}
		lastErr = ""
		if err != nil {
			lastErr = err.Error()
		}
		retry.done(err != nil)
	}
}

// desiredRoutes converts the specs, the first spec of a key winning.
func desiredRoutes(specs []network.RouteSpecSpec) map[routeKey]netlink.Route {
	out := map[routeKey]netlink.Route{}
	for _, s := range specs {
		dst, err := netip.ParsePrefix(s.Destination)
		if err != nil {
			continue
		}
		r := netlink.Route{Link: s.Link, Destination: dst.Masked(), Metric: s.Metric, Protocol: netlink.ProtoStatic}
		if s.Origin == network.OriginDHCP {
			r.Protocol = netlink.ProtoDHCP
		}
		r.Gateway, _ = netip.ParseAddr(s.Gateway)
		r.PreferredSource, _ = netip.ParseAddr(s.PreferredSource)
		if _, dup := out[keyOf(r)]; !dup {
			out[keyOf(r)] = r
		}
	}
	return out
}

func (c *RouteApplyController) reconcile(want map[routeKey]netlink.Route, links map[string]bool, logger *slog.Logger) error {
	current, err := c.Routes.Routes()
	if err != nil {
		return err
	}
	present := map[routeKey]bool{}
	for _, r := range current {
		present[keyOf(r)] = true
	}
	var errs []error
	pending := false
	for k, r := range want {
		if !links[k.link] || present[k] {
			continue
		}
		err := c.Routes.AddRoute(r)
		if errors.Is(err, syscall.ENETUNREACH) {
			// The gateway's subnet is not on the link yet: its address
			// is being added. Not worth a warning; retried with backoff.
			logger.Debug("route waits for its gateway to be reachable", "error", err)
			pending = true
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		logger.Info("route added", "link", r.Link, "destination", r.Destination.String(), "gateway", r.Gateway.String(), "metric", r.Metric)
		c.added[k] = r
	}
	for k, r := range c.added {
		if _, ok := want[k]; ok && links[k.link] {
			continue
		}
		if present[k] {
			if err := c.Routes.DeleteRoute(r); err != nil {
				errs = append(errs, err)
				continue
			}
			logger.Info("route removed", "link", r.Link, "destination", r.Destination.String())
		}
		delete(c.added, k)
	}
	if pending && len(errs) == 0 {
		return errPending
	}
	return errors.Join(errs...)
}

// errPending makes Run retry without logging a failure.
var errPending = errors.New("routes wait for their gateways")
