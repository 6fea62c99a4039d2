package network

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// DefaultAddressPollInterval is how often addresses are polled by default.
const DefaultAddressPollInterval = 5 * time.Second

// NodeAddressController polls the node's addresses and publishes the
// usable ones (see NormalizeAddresses) as the NodeAddresses resource,
// written only when the set changes. It has no inputs: it wakes on its own
// timer, and on Watch's notifications when set (metal: netlink). A failed
// poll is logged and keeps the last known addresses.
type NodeAddressController struct {
	// Addresses returns the node's current addresses; nil publishes an
	// empty set once and never polls.
	Addresses func() ([]netip.Prefix, error)
	// PollInterval is the time between polls (default 5s).
	PollInterval time.Duration
	// Watch, when set, wakes the controller when addresses change.
	Watch WatchFunc
}

// Name implements runtime.Controller.
func (*NodeAddressController) Name() string { return "network.NodeAddressController" }

// Inputs implements runtime.Controller.
func (*NodeAddressController) Inputs() []runtime.Input { return nil }

// Outputs implements runtime.Controller.
func (*NodeAddressController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: network.NodeAddressesType}}
}

// Run implements runtime.Controller.
func (c *NodeAddressController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	interval := c.PollInterval
	if interval <= 0 {
		interval = DefaultAddressPollInterval
	}

	timer := time.NewTimer(interval)
	defer timer.Stop()

	notify := make(chan struct{}, 1)
	stop := startWatch(ctx, c.Watch, notify, logger)

	defer stop()

	var last []string // nil until the first successful publication

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		case <-notify:
		case <-timer.C:
		}

		if c.Addresses == nil && last != nil {
			continue // nothing to poll: published once
		}

		timer.Reset(interval)

		addrs, err := c.poll()
		if err != nil {
			logger.Warn("address poll failed", "error", err)

			continue
		}

		if last != nil && slices.Equal(addrs, last) {
			continue
		}

		if err := publish(ctx, r, addrs); err != nil {
			return err
		}

		logger.Info("node addresses changed", "addresses", addrs)

		last = addrs
	}
}

// poll returns the normalized addresses, never nil.
func (c *NodeAddressController) poll() ([]string, error) {
	if c.Addresses == nil {
		return []string{}, nil
	}

	prefixes, err := c.Addresses()
	if err != nil {
		return nil, fmt.Errorf("poll addresses: %w", err)
	}

	return NormalizeAddresses(prefixes), nil
}

func publish(ctx context.Context, r runtime.ControllerRuntime, addrs []string) error {
	err := runtime.ModifyTyped(ctx, r, network.NewNodeAddresses(), func(res *network.NodeAddresses) error {
		res.TypedSpec().Addresses = slices.Clone(addrs)

		return nil
	})
	if err != nil {
		return fmt.Errorf("node addresses: %w", err)
	}

	return nil
}
