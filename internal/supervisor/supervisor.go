package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/plinth-os/plinth/internal/supervisor/logs"
)

// Options configure a Supervisor. The zero value works: no observer, logs
// kept in memory only, restart always with the default backoff.
type Options struct {
	// Logger is the supervisor's own logger; slog.Default when nil.
	Logger *slog.Logger
	// Observer is told of every change of state and health.
	Observer Observer
	// Logs configures every service's log; its Dir, when set, receives
	// <Dir>/<service>.log while it exists.
	Logs logs.Options
	// Restart applies to services that do not implement Restarter.
	Restart RestartSettings
}

// Supervisor runs services. It is safe for concurrent use.
type Supervisor struct {
	opts   Options
	logger *slog.Logger

	mu       sync.Mutex
	services map[string]*instance
	changed  chan struct{} // closed and replaced on every change
}

// New returns a Supervisor with no services.
func New(opts Options) *Supervisor {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if opts.Logs.Logger == nil {
		opts.Logs.Logger = logger
	}
	return &Supervisor{
		opts:     opts,
		logger:   logger.With("component", "supervisor"),
		services: make(map[string]*instance),
		changed:  make(chan struct{}),
	}
}

// Load adds services, each reported Initialized, or replaces loaded ones
// that are not started (a replaced service keeps its log and state). Nothing is loaded if any is invalid, a
// duplicate, or replaces a started service. Dependencies are checked by
// Start, so services may be loaded in any order.
func (s *Supervisor) Load(svcs ...Service) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, svc := range svcs {
		id := svc.ID()
		if err := checkID(id); err != nil {
			return fmt.Errorf("load: %w", err)
		}
		if seen[id] {
			return fmt.Errorf("load: service %q given twice", id)
		}
		seen[id] = true
		if in, ok := s.services[id]; ok && in.active() {
			return fmt.Errorf("load: service %q is started; stop it first", id)
		}
	}
	for _, svc := range svcs {
		if in, ok := s.services[svc.ID()]; ok {
			in.replace(svc)
			continue
		}
		in := newInstance(s, svc)
		s.services[svc.ID()] = in
		in.loaded()
	}
	return nil
}

// Launch starts ids and, first, everything they depend on, and returns
// without waiting. Services already started are left alone. Unknown
// services or dependencies and dependency cycles are errors, and then
// nothing is started.
func (s *Supervisor) Launch(ids ...string) error {
	s.mu.Lock()
	order, err := startOrder(ids, func(id string) ([]string, bool) {
		in, ok := s.services[id]
		if !ok {
			return nil, false
		}
		return in.service().DependsOn(), true
	})
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("start: %w", err)
	}
	for _, id := range order {
		s.services[id].launch()
	}
	s.mu.Unlock()
	s.broadcast()
	return nil
}

// Start launches ids as Launch does and waits, as Wait does, until they are
// up. When ctx ends first the services go on starting.
func (s *Supervisor) Start(ctx context.Context, ids ...string) error {
	if err := s.Launch(ids...); err != nil {
		return err
	}
	return s.Wait(ctx, ids...)
}

// Wait blocks until each of ids is up: Running (and Healthy when it has a
// health check), or Finished for good. It fails as soon as one of them
// comes to rest Failed, Skipped or Stopped, or when ctx is done.
func (s *Supervisor) Wait(ctx context.Context, ids ...string) error {
	for {
		changed := s.changes()
		var pending []string
		for _, id := range ids {
			in, err := s.instance(id)
			if err != nil {
				return fmt.Errorf("wait: %w", err)
			}
			up, err := in.up()
			if err != nil {
				return fmt.Errorf("wait: %w", err)
			}
			if !up {
				pending = append(pending, in.describe())
			}
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", strings.Join(pending, "; "), ctx.Err())
		}
	}
}

// Stop stops ids and every started service that depends on them,
// dependents first: a service is stopped once everything that depends on
// it has stopped. It returns when all have stopped, or an error when ctx
// ends first.
func (s *Supervisor) Stop(ctx context.Context, ids ...string) error {
	_, err := s.stop(ctx, ids)
	return err
}

// StopAll stops every started service in reverse dependency order.
func (s *Supervisor) StopAll(ctx context.Context) error {
	s.mu.Lock()
	var ids []string
	for id, in := range s.services {
		if in.active() {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	_, err := s.stop(ctx, ids)
	return err
}

// Restart stops ids and their dependents as Stop does, then starts all of
// them again as Start does.
func (s *Supervisor) Restart(ctx context.Context, ids ...string) error {
	stopped, err := s.stop(ctx, ids)
	if err != nil {
		return err
	}
	return s.Start(ctx, stopped...)
}

// stop stops ids and their started dependents and returns them all.
func (s *Supervisor) stop(ctx context.Context, ids []string) ([]string, error) {
	s.mu.Lock()
	var started []string
	for _, id := range ids {
		if _, ok := s.services[id]; !ok {
			s.mu.Unlock()
			return nil, fmt.Errorf("stop: unknown service %q", id)
		}
	}
	for id, in := range s.services {
		if in.active() {
			started = append(started, id)
		}
	}
	deps := s.dependencies()
	s.mu.Unlock()

	set := withDependents(ids, started, deps)
	levels, err := stopLevels(set, deps)
	if err != nil {
		return nil, fmt.Errorf("stop: %w", err)
	}
	for _, level := range levels {
		errs := make([]error, len(level))
		var wg sync.WaitGroup
		for i, id := range level {
			in, err := s.instance(id)
			if err != nil {
				return nil, fmt.Errorf("stop: %w", err)
			}
			wg.Go(func() { errs[i] = in.stop(ctx) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// dependencies snapshots every loaded service's dependencies.
func (s *Supervisor) dependencies() func(string) []string {
	m := make(map[string][]string, len(s.services))
	for id, in := range s.services {
		m[id] = in.service().DependsOn()
	}
	return func(id string) []string { return m[id] }
}

// List returns the status of every loaded service, sorted by ID.
func (s *Supervisor) List() []ServiceInfo {
	s.mu.Lock()
	all := make([]*instance, 0, len(s.services))
	for _, in := range s.services {
		all = append(all, in)
	}
	s.mu.Unlock()
	infos := make([]ServiceInfo, len(all))
	for i, in := range all {
		infos[i] = in.info()
	}
	slices.SortFunc(infos, func(a, b ServiceInfo) int { return strings.Compare(a.ID, b.ID) })
	return infos
}

// Logs returns the log of service id.
func (s *Supervisor) Logs(id string) (*logs.Log, error) {
	in, err := s.instance(id)
	if err != nil {
		return nil, err
	}
	return in.log, nil
}

func (s *Supervisor) instance(id string) (*instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.services[id]
	if !ok {
		return nil, fmt.Errorf("unknown service %q", id)
	}
	return in, nil
}

// changes returns a channel closed at the next change of any service.
func (s *Supervisor) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// broadcast wakes everything waiting on changes.
func (s *Supervisor) broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
}

// notReady returns the IDs among ids that are not Running (and Healthy when
// checked), for dependency waits.
func (s *Supervisor) notReady(ids []string) []string {
	var pending []string
	for _, id := range ids {
		in, err := s.instance(id)
		if err != nil || !in.ready() {
			pending = append(pending, id)
		}
	}
	return pending
}
