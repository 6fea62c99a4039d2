package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/plinth-os/plinth/internal/supervisor/logs"
)

// instance is a loaded service and the goroutine that runs it.
type instance struct {
	sup    *Supervisor
	id     string
	log    *logs.Log
	logger *slog.Logger

	mu       sync.Mutex
	svc      Service
	state    State
	message  string
	since    time.Time
	health   Health
	loop     bool               // the run loop is alive
	stopping bool               // Stop was called for the current loop
	cancel   context.CancelFunc // ends the current loop
	done     chan struct{}      // closed when the current loop has ended
}

func newInstance(s *Supervisor, svc Service) *instance {
	id := svc.ID()
	return &instance{
		sup:    s,
		id:     id,
		svc:    svc,
		log:    logs.New(id, s.opts.Logs),
		logger: s.logger.With("service", id),
		since:  time.Now(),
	}
}

// loaded reports the new service to the observer.
func (in *instance) loaded() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.setLocked(Initialized, "loaded")
}

func (in *instance) service() Service {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.svc
}

func (in *instance) replace(svc Service) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.svc = svc
}

// active reports whether the service is started: its loop is alive.
func (in *instance) active() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.loop
}

// launch starts the run loop unless it is alive. The caller broadcasts.
func (in *instance) launch() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.loop {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.loop, in.stopping, in.cancel, in.done = true, false, cancel, make(chan struct{})
	in.setLocked(Waiting, "waiting")
	go in.run(ctx, in.svc, in.done)
}

// stop ends the run loop and waits for it, or for ctx.
func (in *instance) stop(ctx context.Context) error {
	in.mu.Lock()
	if !in.loop {
		in.mu.Unlock()
		return nil
	}
	if !in.stopping {
		in.setLocked(Stopping, "stopping")
		in.stopping = true
	}
	cancel, done := in.cancel, in.done
	in.mu.Unlock()
	in.sup.broadcast()
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop %s: %w", in.id, ctx.Err())
	}
}

// set records a state change and wakes everything waiting on services.
func (in *instance) set(state State, message string) {
	in.mu.Lock()
	in.setLocked(state, message)
	in.mu.Unlock()
	in.sup.broadcast()
}

// setLocked records a state change and tells the observer. Once stopping,
// only the final Stopped is recorded.
func (in *instance) setLocked(state State, message string) {
	if in.stopping && state != Stopped {
		return
	}
	if state == in.state && message == in.message {
		return
	}
	if state == Preparing {
		in.health = Health{}
	}
	in.state, in.message, in.since = state, message, time.Now()
	in.logger.Info("service state changed", "state", state.String(), "message", message)
	in.notifyLocked()
}

func (in *instance) notifyLocked() {
	if obs := in.sup.opts.Observer; obs != nil {
		obs.Observe(in.eventLocked())
	}
}

func (in *instance) eventLocked() ServiceEvent {
	return ServiceEvent{ID: in.id, State: in.state, Health: in.health, Message: in.message, Time: in.since}
}

func (in *instance) info() ServiceInfo {
	in.mu.Lock()
	defer in.mu.Unlock()
	return ServiceInfo{ServiceEvent: in.eventLocked(), DependsOn: in.svc.DependsOn()}
}

func (in *instance) describe() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return fmt.Sprintf("%s (%s: %s)", in.id, in.state, in.message)
}

// readyLocked: Running, and Healthy if the service has a health check.
func (in *instance) readyLocked() bool {
	if in.state != Running {
		return false
	}
	_, checked := in.svc.(HealthChecker)
	return !checked || in.health.Status == Healthy
}

func (in *instance) ready() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.readyLocked()
}

// up reports whether Wait is satisfied, or why it never will be.
func (in *instance) up() (bool, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.loop {
		return in.readyLocked(), nil
	}
	switch in.state {
	case Finished:
		return true, nil
	case Initialized:
		return false, fmt.Errorf("service %q is not started", in.id)
	}
	return false, fmt.Errorf("service %q is %s: %s", in.id, in.state, in.message)
}

// run is the service's life cycle, until it comes to rest or ctx ends.
func (in *instance) run(ctx context.Context, svc Service, done chan struct{}) {
	defer func() {
		in.mu.Lock()
		in.loop = false
		in.mu.Unlock()
		close(done)
		in.sup.broadcast()
	}()
	settings := in.sup.opts.Restart
	if r, ok := svc.(Restarter); ok {
		settings = r.RestartSettings()
	}
	bo := newBackoff(settings)
	for {
		upFor, err := in.runOnce(ctx, svc)
		switch {
		case ctx.Err() != nil:
			in.set(Stopped, stoppedMessage(err))
			return
		case errors.Is(err, ErrSkip):
			in.set(Skipped, err.Error())
			return
		case err != nil:
			in.set(Failed, err.Error())
		default:
			in.set(Finished, "exited successfully")
		}
		if !settings.Policy.shouldRestart(err) {
			return
		}
		delay := bo.delay(upFor)
		in.set(Restarting, fmt.Sprintf("restarting in %s", delay))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			in.set(Stopped, "stopped")
			return
		case <-t.C:
		}
	}
}

func stoppedMessage(err error) string {
	if err == nil || errors.Is(err, context.Canceled) {
		return "stopped"
	}
	return "stopped: " + err.Error()
}

// runOnce waits for the service's dependencies and condition, then runs it
// once. It returns how long the service ran, and how it ended.
func (in *instance) runOnce(ctx context.Context, svc Service) (time.Duration, error) {
	if err := in.waitDependencies(ctx, svc.DependsOn()); err != nil {
		return 0, err
	}
	if cond := svc.Condition(); cond != nil {
		in.set(Waiting, "waiting for "+cond.String())
		if err := cond.Wait(ctx); err != nil {
			return 0, fmt.Errorf("condition: %w", err)
		}
	}
	in.set(Preparing, "preparing")
	runner, err := svc.Runner()
	if err != nil {
		return 0, fmt.Errorf("prepare: %w", err)
	}
	hc, _ := svc.(HealthChecker)
	var (
		mu        sync.Mutex // the runner may call started on any goroutine
		startedAt time.Time
		health    sync.WaitGroup
	)
	hctx, stopHealth := context.WithCancel(ctx)
	err = runner.Run(ctx, in.log, func() {
		mu.Lock()
		defer mu.Unlock()
		if !startedAt.IsZero() {
			return
		}
		startedAt = time.Now()
		in.set(Running, "running")
		if hc != nil {
			health.Go(func() { in.checkHealth(hctx, hc) })
		}
	})
	stopHealth()
	health.Wait()
	mu.Lock()
	defer mu.Unlock()
	if startedAt.IsZero() {
		return 0, err
	}
	return time.Since(startedAt), err
}

// waitDependencies blocks until every dependency is ready.
func (in *instance) waitDependencies(ctx context.Context, deps []string) error {
	if len(deps) == 0 {
		in.set(Waiting, "waiting")
		return nil
	}
	for {
		changed := in.sup.changes()
		pending := in.sup.notReady(deps)
		if len(pending) == 0 {
			return nil
		}
		in.set(Waiting, "waiting for dependencies: "+strings.Join(pending, ", "))
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
