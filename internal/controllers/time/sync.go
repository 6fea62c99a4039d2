// Package time holds the controller that keeps the node's clock in step
// with NTP servers and reports it as the TimeStatus resource.
package time

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/sys/ntp"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
	restime "github.com/plinth-os/plinth/pkg/machinery/resources/time"
)

// DefaultServer is used when neither the config, the kernel argument nor
// DHCP names a server.
const DefaultServer = "pool.ntp.org"

// Defaults of SyncController.
const (
	DefaultMinPoll      = 64 * time.Second
	DefaultMaxPoll      = 1024 * time.Second
	DefaultRetryInitial = time.Second
	DefaultRetryMax     = 2 * time.Minute
)

// QueryFunc asks one server for the clock's offset.
type QueryFunc func(ctx context.Context, server string) (ntp.Response, error)

// SyncController synchronises the clock over NTP and writes TimeStatus.
//
//	container mode ──▶ status "host": the node shares its host's clock, never set
//	machine.time.disabled ──▶ status "disabled", nothing else
//	otherwise: servers = machine.time.servers, else ip='s, else DHCP's, else pool.ntp.org
//	   query (servers in order) ──ok──▶ first sync: step; later: slew if |offset| < 0.5s, else step
//	      │                                 └─▶ next sync after MinPoll, doubling to MaxPoll while slewing
//	      └─every server failed──▶ retry after RetryInitial, doubling to RetryMax
//
// It never blocks the boot: the machines it runs on may have no route to
// any server, so failures are logged once as a warning, then at debug
// level, and the status carries the last error.
type SyncController struct {
	// Mode is metal or container.
	Mode validation.Mode
	// Query asks a server (ntp.Query in production).
	Query QueryFunc
	// Clock corrects the clock (ntp.SystemClock on metal).
	Clock ntp.Clock
	// Now is the clock of LastSync; nil means time.Now.
	Now func() time.Time
	// KernelServers are the NTP fields of the kernel's ip= argument.
	KernelServers []string
	// MinPoll and MaxPoll bound the time between successful syncs.
	MinPoll, MaxPoll time.Duration
	// RetryInitial and RetryMax bound the backoff after failures.
	RetryInitial, RetryMax time.Duration
}

// Name implements runtime.Controller.
func (*SyncController) Name() string { return "time.SyncController" }

// Inputs implements runtime.Controller.
func (*SyncController) Inputs() []runtime.Input {
	return []runtime.Input{
		read.ConfigInput,
		{Namespace: network.NamespaceName, Type: network.DHCPLeaseType},
	}
}

// Outputs implements runtime.Controller.
func (*SyncController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: restime.TimeStatusType}}
}

// syncState is what a run remembers between syncs.
type syncState struct {
	synced   bool // the clock was set at least once
	poll     time.Duration
	retry    time.Duration
	quiet    bool // a failure was logged already
	servers  []string
	mode     string
	lastSpec restime.TimeStatusSpec
}

// Run implements runtime.Controller.
func (c *SyncController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	c.setDefaults()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var st syncState
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
			mode, servers, err := c.settings(ctx, r)
			if err != nil {
				return err
			}
			if mode == st.mode && slices.Equal(servers, st.servers) {
				continue // unrelated change: keep the schedule
			}
			st.mode, st.servers, st.poll, st.retry, st.quiet = mode, servers, 0, 0, false
			timer.Stop()
			if mode != restime.ModeNTP {
				if err := c.publish(ctx, r, &st, restime.TimeStatusSpec{Mode: mode, Synced: mode == restime.ModeHost}); err != nil {
					return err
				}
				continue
			}
		case <-timer.C:
		}
		if st.mode != restime.ModeNTP {
			continue
		}
		wait, err := c.sync(ctx, r, logger, &st)
		if err != nil {
			return err
		}
		timer.Reset(wait)
	}
}

func (c *SyncController) setDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MinPoll <= 0 {
		c.MinPoll = DefaultMinPoll
	}
	if c.MaxPoll <= 0 {
		c.MaxPoll = DefaultMaxPoll
	}
	c.MaxPoll = max(c.MaxPoll, c.MinPoll)
	if c.RetryInitial <= 0 {
		c.RetryInitial = DefaultRetryInitial
	}
	if c.RetryMax < c.RetryInitial {
		c.RetryMax = max(DefaultRetryMax, c.RetryInitial)
	}
}

// settings returns the mode and the servers in order of preference.
func (c *SyncController) settings(ctx context.Context, r runtime.ControllerRuntime) (string, []string, error) {
	if c.Mode == validation.ModeContainer {
		return restime.ModeHost, nil, nil
	}
	m, err := read.MachineConfig(ctx, r)
	if err != nil {
		return "", nil, err
	}
	var cfg *v1alpha1.Time
	if m != nil && m.Machine != nil {
		cfg = m.Machine.Time
	}
	if cfg != nil && cfg.Disabled {
		return restime.ModeDisabled, nil, nil
	}
	if c.Query == nil || c.Clock == nil {
		return restime.ModeDisabled, nil, nil
	}
	if cfg != nil && len(cfg.Servers) > 0 {
		return restime.ModeNTP, slices.Clone(cfg.Servers), nil
	}
	if len(c.KernelServers) > 0 {
		return restime.ModeNTP, slices.Clone(c.KernelServers), nil
	}
	items, err := r.List(ctx, network.NamespaceName, network.DHCPLeaseType)
	if err != nil {
		return "", nil, fmt.Errorf("list DHCP leases: %w", err)
	}
	var servers []string
	for _, it := range items {
		if l, ok := it.(*resource.Typed[network.DHCPLeaseSpec]); ok {
			for _, s := range l.TypedSpec().NTP {
				if !slices.Contains(servers, s) {
					servers = append(servers, s)
				}
			}
		}
	}
	if len(servers) == 0 {
		servers = []string{DefaultServer}
	}
	return restime.ModeNTP, servers, nil
}

// sync queries the servers in order, corrects the clock from the first
// answer, and returns the wait before the next sync.
func (c *SyncController) sync(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger, st *syncState) (time.Duration, error) {
	spec := st.lastSpec
	spec.Mode, spec.Servers = restime.ModeNTP, st.servers
	var errs []error
	for _, server := range st.servers {
		resp, err := c.Query(ctx, server)
		if ctx.Err() != nil {
			return 0, nil
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		adj := ntp.Decide(resp.Offset, !st.synced)
		if adj == ntp.Step {
			err = c.Clock.Step(resp.Offset)
		} else {
			err = c.Clock.Slew(resp.Offset)
		}
		if err != nil {
			errs = append(errs, err)
			break // the clock refuses: another server will not help
		}
		level := slog.LevelDebug
		if !st.synced || adj == ntp.Step {
			level = slog.LevelInfo
		}
		logger.Log(ctx, level, "clock synchronised", "server", server, "offset", resp.Offset, "adjustment", string(adj))
		spec.Synced, spec.Server, spec.Offset, spec.Adjustment = true, server, resp.Offset.String(), string(adj)
		spec.LastSync, spec.Error = c.Now(), ""
		st.synced, st.quiet, st.retry = true, false, 0
		st.poll = nextPoll(st.poll, adj, c.MinPoll, c.MaxPoll)
		return st.poll, c.publish(ctx, r, st, spec)
	}
	err := errors.Join(errs...)
	if !st.quiet {
		logger.Warn("time sync failed, retrying in the background", "servers", st.servers, "error", err)
		st.quiet = true
	} else {
		logger.Debug("time sync failed", "error", err)
	}
	spec.Error = err.Error()
	st.retry = min(max(st.retry*2, c.RetryInitial), c.RetryMax)
	return st.retry, c.publish(ctx, r, st, spec)
}

// nextPoll doubles the poll interval while slewing; a step starts over.
func nextPoll(cur time.Duration, adj ntp.Adjustment, minPoll, maxPoll time.Duration) time.Duration {
	if adj == ntp.Step || cur == 0 {
		return minPoll
	}
	return min(cur*2, maxPoll)
}

func (c *SyncController) publish(ctx context.Context, r runtime.ControllerRuntime, st *syncState, spec restime.TimeStatusSpec) error {
	st.lastSpec = spec
	err := runtime.ModifyTyped(ctx, r, restime.NewTimeStatus(), func(res *restime.TimeStatus) error {
		*res.TypedSpec() = spec
		return nil
	})
	if err != nil {
		return fmt.Errorf("time status: %w", err)
	}
	return nil
}
