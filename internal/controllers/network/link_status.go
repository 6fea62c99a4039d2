package network

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/sys/netlink"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// DefaultLinkPollInterval is how often links are re-read without a change
// notification.
const DefaultLinkPollInterval = 5 * time.Second

// LinkLister lists the kernel's links (netlink.Handle in production).
type LinkLister interface {
	Links() ([]netlink.Link, error)
}

// WatchFunc sends on notify whenever links or addresses change, until ctx
// is done (netlink.Handle.Watch in production).
type WatchFunc func(ctx context.Context, notify chan<- struct{}) error

// LinkStatusController publishes one LinkStatus per kernel link (metal
// only). It re-reads the links when Watch reports a change and every
// PollInterval; a failed read is logged and retried at the next tick.
type LinkStatusController struct {
	// Links reads the links.
	Links LinkLister
	// Watch, when set, wakes the controller on changes.
	Watch WatchFunc
	// PollInterval is the time between reads (default 5s).
	PollInterval time.Duration
}

// Name implements runtime.Controller.
func (*LinkStatusController) Name() string { return "network.LinkStatusController" }

// Inputs implements runtime.Controller.
func (*LinkStatusController) Inputs() []runtime.Input { return nil }

// Outputs implements runtime.Controller.
func (*LinkStatusController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: network.LinkStatusType}}
}

// Run implements runtime.Controller.
func (c *LinkStatusController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	interval := c.PollInterval
	if interval <= 0 {
		interval = DefaultLinkPollInterval
	}
	notify := make(chan struct{}, 1)
	stop := startWatch(ctx, c.Watch, notify, logger)
	defer stop()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		case <-notify:
		case <-ticker.C:
		}
		links, err := c.Links.Links()
		if err != nil {
			if !failing {
				logger.Warn("reading links failed", "error", err)
			}
			failing = true
			continue
		}
		failing = false
		if err := publishLinks(ctx, r, links); err != nil {
			return err
		}
	}
}

// startWatch runs watch in the background until the returned stop is
// called; stop waits for it. A failed watch is logged once: polling goes on.
func startWatch(ctx context.Context, watch WatchFunc, notify chan<- struct{}, logger *slog.Logger) (stop func()) {
	if watch == nil {
		return func() {}
	}
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := watch(wctx, notify); err != nil && wctx.Err() == nil {
			logger.Warn("netlink change notifications unavailable, polling only", "error", err)
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

func publishLinks(ctx context.Context, r runtime.ControllerRuntime, links []netlink.Link) error {
	tr := runtime.NewOutputTracker(r, network.NamespaceName, network.LinkStatusType)
	for _, l := range links {
		spec := network.LinkStatusSpec{
			Name: l.Name, Index: l.Index, HardwareAddr: l.HardwareAddr, Kind: l.Kind,
			Physical: l.Physical, Up: l.Up, OperState: l.OperState, MTU: l.MTU,
		}
		if err := tr.Modify(ctx, network.NewLinkStatus(l.Name), setSpec(spec)); err != nil {
			return fmt.Errorf("link status %s: %w", l.Name, err)
		}
	}
	return tr.Cleanup(ctx)
}
