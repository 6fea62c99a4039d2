// Package engine runs controllers against a runtime.State: it checks their
// declarations, triggers them when their inputs change, confines their
// writes to their outputs, and restarts them with backoff when they fail.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
)

// Options tune the engine; zero fields take the defaults.
type Options struct {
	// BackoffInitial is the wait before the first restart of a failed
	// controller (default 100ms). Each further failure doubles it.
	BackoffInitial time.Duration
	// BackoffMax caps the wait (default 30s). A run that lasted at least
	// BackoffMax before failing counts as healthy and resets the backoff.
	BackoffMax time.Duration
}

const (
	defaultBackoffInitial = 100 * time.Millisecond
	defaultBackoffMax     = 30 * time.Second
)

// Engine registers controllers and runs them.
//
//	registered ──Run──▶ running ──ctx cancelled──▶ stopped
//
// Controllers are registered before Run; Run starts them all and returns
// once ctx is cancelled and every controller has returned.
type Engine struct {
	state  runtime.State
	logger *slog.Logger
	opts   Options
	after  func(time.Duration) <-chan time.Time

	mu          sync.Mutex
	controllers []*adapter
	claims      map[string]claim
	started     bool
}

// claim records which controller declared an output type, and how.
type claim struct {
	controller string
	kind       runtime.OutputKind
}

// New returns an engine over st that logs through logger.
func New(st runtime.State, logger *slog.Logger, opts Options) *Engine {
	if opts.BackoffInitial <= 0 {
		opts.BackoffInitial = defaultBackoffInitial
	}

	if opts.BackoffMax <= 0 {
		opts.BackoffMax = defaultBackoffMax
	}

	opts.BackoffMax = max(opts.BackoffMax, opts.BackoffInitial)

	return &Engine{
		state:  st,
		logger: logger.With("component", "controller-runtime"),
		opts:   opts,
		after:  time.After,
		claims: map[string]claim{},
	}
}

// Register adds a controller. It refuses duplicate names, incomplete
// inputs, and an output type that another controller declared exclusive
// (or that this one declares exclusive while another already writes it).
func (e *Engine) Register(c runtime.Controller) error {
	e.mu.Lock()
	defer e.mu.Unlock()

	name := c.Name()

	switch {
	case e.started:
		return fmt.Errorf("register controller %s: engine already running", name)
	case name == "":
		return errors.New("register controller: empty name")
	}

	for _, a := range e.controllers {
		if a.name == name {
			return fmt.Errorf("register controller %s: name already registered", name)
		}
	}

	if err := checkInputs(c.Inputs()); err != nil {
		return fmt.Errorf("register controller %s: %w", name, err)
	}

	claims, err := e.checkOutputs(name, c.Outputs())
	if err != nil {
		return fmt.Errorf("register controller %s: %w", name, err)
	}

	for typ, cl := range claims {
		e.claims[typ] = cl
	}

	e.controllers = append(e.controllers, newAdapter(c, e.state))

	return nil
}

func checkInputs(inputs []runtime.Input) error {
	for _, in := range inputs {
		if in.Namespace == "" || in.Type == "" {
			return fmt.Errorf("input %q/%q: namespace and type are required", in.Namespace, in.Type)
		}
	}

	return nil
}

// checkOutputs returns the claims the outputs add, or the first conflict.
func (e *Engine) checkOutputs(name string, outputs []runtime.Output) (map[string]claim, error) {
	claims := map[string]claim{}

	for _, out := range outputs {
		if out.Type == "" {
			return nil, errors.New("output with empty type")
		}

		if _, dup := claims[out.Type]; dup {
			return nil, fmt.Errorf("output %s declared twice", out.Type)
		}

		if prev, ok := e.claims[out.Type]; ok &&
			(prev.kind == runtime.OutputExclusive || out.Kind == runtime.OutputExclusive) {
			return nil, fmt.Errorf("output %s conflicts with controller %s, which also writes it (%s)",
				out.Type, prev.controller, kindName(prev.kind))
		}

		claims[out.Type] = claim{controller: name, kind: out.Kind}
	}

	return claims, nil
}

func kindName(k runtime.OutputKind) string {
	if k == runtime.OutputShared {
		return "shared"
	}

	return "exclusive"
}

// Run starts every registered controller and blocks until ctx is cancelled
// and all of them have stopped; it then returns nil. It fails only if an
// input watch cannot be set up, after stopping whatever it started, or if
// the engine is already running.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()

		return errors.New("run controllers: engine already running")
	}

	e.started = true
	controllers := e.controllers
	e.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)

	var wg sync.WaitGroup

	defer func() {
		cancel()
		wg.Wait()
	}()

	for _, a := range controllers {
		logger := e.logger.With("controller", a.name)

		// Watches first, so no change falls between them and the first run.
		if err := a.watchInputs(ctx, &wg, logger); err != nil {
			return fmt.Errorf("run controllers: %w", err)
		}

		a.notify()
		wg.Go(func() { e.supervise(ctx, a, logger) })
	}

	e.logger.Info("controllers started", "count", len(controllers))
	<-ctx.Done()

	return nil
}
