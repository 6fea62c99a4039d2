package apply

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/plinth-os/plinth/internal/app/machined/events"
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// Store persists configs (see package configstore).
type Store interface {
	Save(data []byte) error
	SaveStaged(data []byte) error
}

// Node is what applying a config without reboot changes.
type Node interface {
	// Activate makes cfg (loaded from raw) the running config.
	Activate(ctx context.Context, cfg *config.Config, raw []byte) error
}

// Timer is a pending call of Clock.AfterFunc.
type Timer interface {
	Stop() bool
}

// Clock schedules the try-mode rollback.
type Clock interface {
	AfterFunc(d time.Duration, f func()) Timer
}

type realClock struct{}

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Options configure an Applier.
type Options struct {
	// Mode validates configs for metal or container.
	Mode   validation.Mode
	Store  Store
	Node   Node
	Events events.Publisher
	Logger *slog.Logger
	// Clock is the rollback timer's clock; the real one when nil.
	Clock Clock
}

// active is a config with the bytes it was loaded from.
type active struct {
	cfg *config.Config
	raw []byte
}

// Applier holds the active config and applies new ones. It is safe for
// concurrent use; applies are serialized.
//
//	maintenance ──apply──▶ running ──apply TRY──▶ trying ──timeout──▶ running (rolled back)
//	                          ▲                      │
//	                          └────── any apply ─────┘ (the rollback is cancelled)
type Applier struct {
	opts   Options
	logger *slog.Logger

	mu          sync.Mutex
	active      *active
	maintenance bool        // the node waits for its first config
	handoff     chan active // carries that config to WaitForConfig
	try         *tryState
}

// tryState is a pending rollback.
type tryState struct {
	timer    Timer
	previous *active
}

// New returns an Applier without active config.
func New(opts Options) *Applier {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Applier{opts: opts, logger: opts.Logger.With("component", "apply")}
}

// SetActive records the config the node booted with.
func (a *Applier) SetActive(cfg *config.Config, raw []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.active = &active{cfg: cfg, raw: raw}
}

// Active returns the running config and its bytes (nil without one).
func (a *Applier) Active() (*config.Config, []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.active == nil {
		return nil, nil
	}
	return a.active.cfg, a.active.raw
}

// Clear forgets the active config and any pending rollback (reset).
func (a *Applier) Clear() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopTryLocked()
	a.active = nil
}

// EnterMaintenance makes the next apply store its config and hand it to
// WaitForConfig.
func (a *Applier) EnterMaintenance() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.maintenance = true
	a.handoff = make(chan active, 1)
}

// InMaintenance reports whether the node waits for its first config.
func (a *Applier) InMaintenance() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.maintenance
}

// WaitForConfig blocks until a config is applied in maintenance mode, and
// returns it. EnterMaintenance must have been called.
func (a *Applier) WaitForConfig(ctx context.Context) (*config.Config, []byte, error) {
	a.mu.Lock()
	ch := a.handoff
	a.mu.Unlock()
	if ch == nil {
		return nil, nil, fmt.Errorf("wait for config: not in maintenance mode")
	}
	select {
	case got := <-ch:
		return got.cfg, got.raw, nil
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("wait for config: %w", ctx.Err())
	}
}

// Apply validates req's config, decides what to do with it and does it
// (unless it is a dry run). Refusals are *Error values.
func (a *Applier) Apply(ctx context.Context, req Request) (*Result, error) {
	cfg, warnings, err := Parse(req.Data, a.opts.Mode)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var cur *config.Config
	var curRaw []byte
	if a.active != nil && !a.maintenance {
		cur, curRaw = a.active.cfg, a.active.raw
	}
	d, err := Decide(cur, cfg, req.Mode)
	if err != nil {
		return nil, err
	}
	res := &Result{Mode: req.Mode, Details: d.Details, Warnings: warnings}
	if req.DryRun {
		return a.dryRun(res, curRaw, req.Data)
	}
	if err := a.doLocked(ctx, d.Action, cfg, req); err != nil {
		return nil, err
	}
	res.Reboot = d.Action == ActionReboot
	a.publish(d.Details)
	return res, nil
}

func (a *Applier) dryRun(res *Result, oldRaw, newRaw []byte) (*Result, error) {
	diff, err := Diff(oldRaw, newRaw)
	if err != nil {
		return nil, fmt.Errorf("dry run: %w", err)
	}
	res.Details = "dry run: would be " + res.Details
	if diff == "" {
		res.Details += " (no changes)"
	}
	res.Diff = diff
	return res, nil
}

// doLocked carries out an action.
func (a *Applier) doLocked(ctx context.Context, action Action, cfg *config.Config, req Request) error {
	next := &active{cfg: cfg, raw: req.Data}
	confirmed := a.active // what a try rolls back to: the last config not tried
	if a.try != nil {
		confirmed = a.try.previous
	}
	if action != ActionStage && action != ActionTry {
		a.stopTryLocked() // any apply that touches the running config confirms a try
	}
	switch action {
	case ActionBoot:
		if err := a.opts.Store.Save(req.Data); err != nil {
			return err
		}
		a.active = next
		a.handoff <- *next
		a.maintenance = false
	case ActionActivate:
		if err := a.opts.Store.Save(req.Data); err != nil {
			return err
		}
		if err := a.opts.Node.Activate(ctx, cfg, req.Data); err != nil {
			return fmt.Errorf("activate config: %w", err)
		}
		a.active = next
	case ActionReboot:
		return a.opts.Store.Save(req.Data) // the running config stays until the reboot
	case ActionStage:
		return a.opts.Store.SaveStaged(req.Data)
	case ActionTry:
		return a.tryLocked(ctx, confirmed, next, req.TryTimeout)
	}
	return nil
}

// tryLocked activates next without storing it and arms the rollback to
// previous, the config active before the first of consecutive tries.
func (a *Applier) tryLocked(ctx context.Context, previous, next *active, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = constants.DefaultTryModeTimeout
	}
	if err := a.opts.Node.Activate(ctx, next.cfg, next.raw); err != nil {
		return fmt.Errorf("activate config: %w", err)
	}
	a.stopTryLocked()
	a.active = next
	t := &tryState{previous: previous}
	t.timer = a.opts.Clock.AfterFunc(timeout, func() { a.rollback(t) })
	a.try = t
	a.logger.Info("config applied in try mode", "rollback_after", timeout)
	return nil
}

// rollback restores the config active before try t, unless t was ended.
func (a *Applier) rollback(t *tryState) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.try != t {
		return
	}
	a.try = nil
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.opts.Node.Activate(ctx, t.previous.cfg, t.previous.raw); err != nil {
		a.logger.Error("try-mode rollback failed", "error", err)
		a.publish("try-mode rollback failed: " + err.Error())
		return
	}
	a.active = t.previous
	a.logger.Info("try-mode config rolled back")
	a.publish("rolled back to the previous config: the try-mode timeout expired")
}

func (a *Applier) stopTryLocked() {
	if a.try != nil {
		a.try.timer.Stop()
		a.try = nil
	}
}

func (a *Applier) publish(msg string) {
	if a.opts.Events != nil {
		a.opts.Events.Publish(events.Config(msg))
	}
}
