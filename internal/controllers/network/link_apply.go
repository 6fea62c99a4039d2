package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// LinkSetter changes links (netlink.Handle in production).
type LinkSetter interface {
	SetUp(name string) error
	SetMTU(name string, mtu int) error
}

// LinkApplyController makes the kernel's links match the LinkSpecs: up,
// with their MTU. Links that do not exist yet are skipped until a
// LinkStatus shows them. A failed change is logged and retried with
// backoff (RetryInitial doubling to RetryMax). Links are never brought
// down: a link that loses its spec keeps its state.
type LinkApplyController struct {
	// Links changes the links.
	Links LinkSetter
	// RetryInitial and RetryMax bound the backoff of failed changes.
	RetryInitial, RetryMax time.Duration

	// asked holds what was asked of each link and not yet seen in its
	// status ("up", "mtu 1400"), so that it is logged once.
	asked map[string]string
}

// Name implements runtime.Controller.
func (*LinkApplyController) Name() string { return "network.LinkApplyController" }

// Inputs implements runtime.Controller.
func (*LinkApplyController) Inputs() []runtime.Input {
	return []runtime.Input{
		{Namespace: network.NamespaceName, Type: network.LinkSpecType},
		{Namespace: network.NamespaceName, Type: network.LinkStatusType},
	}
}

// Outputs implements runtime.Controller: the kernel is its only output.
func (*LinkApplyController) Outputs() []runtime.Output { return nil }

// Run implements runtime.Controller.
func (c *LinkApplyController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	if c.asked == nil {
		c.asked = map[string]string{}
	}
	retry := newRetryTimer(c.RetryInitial, c.RetryMax)
	defer retry.stop()
	logged := map[string]string{} // link → last error logged
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		case <-retry.C():
		}
		specs, err := listTyped[network.LinkSpecSpec](ctx, r, network.LinkSpecType)
		if err != nil {
			return err
		}
		links, err := listTyped[network.LinkStatusSpec](ctx, r, network.LinkStatusType)
		if err != nil {
			return err
		}
		status := map[string]network.LinkStatusSpec{}
		for _, l := range links {
			status[l.Name] = l
		}
		var failed []error
		for _, s := range specs {
			st, ok := status[s.Name]
			if !ok {
				continue
			}
			err := c.apply(s, st, logger)
			if err != nil && logged[s.Name] != err.Error() {
				logger.Warn("link change failed", "link", s.Name, "error", err)
			}
			if err != nil {
				logged[s.Name] = err.Error()
				failed = append(failed, err)
			} else {
				delete(logged, s.Name)
			}
		}
		retry.done(errors.Join(failed...) != nil)
	}
}

func (c *LinkApplyController) apply(s network.LinkSpecSpec, st network.LinkStatusSpec, logger *slog.Logger) error {
	if s.MTU > 0 && st.MTU != s.MTU {
		if err := c.Links.SetMTU(s.Name, s.MTU); err != nil {
			return fmt.Errorf("link %s: %w", s.Name, err)
		}
		c.logOnce(logger, s.Name+" mtu", fmt.Sprint(s.MTU), "link MTU set", "link", s.Name, "mtu", s.MTU)
	} else {
		delete(c.asked, s.Name+" mtu")
	}
	if s.Up && !st.Up {
		if err := c.Links.SetUp(s.Name); err != nil {
			return fmt.Errorf("link %s: %w", s.Name, err)
		}
		c.logOnce(logger, s.Name+" up", "up", "link up", "link", s.Name)
	} else {
		delete(c.asked, s.Name+" up")
	}
	return nil
}

// logOnce logs a change until the link's status shows it (the status
// lags behind: the same change may be asked again meanwhile).
func (c *LinkApplyController) logOnce(logger *slog.Logger, key, value, msg string, args ...any) {
	if c.asked[key] == value {
		return
	}
	c.asked[key] = value
	logger.Info(msg, args...)
}
