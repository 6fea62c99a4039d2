// Package sequencer runs machined's sequences (boot, reboot, shutdown,
// reset, apply-config): named lists of phases, one sequence at a time, each
// sequence and phase start and stop published as an event.
//
//	idle ──Run/Start──▶ running ──last phase done or a phase failed──▶ idle
//	          │                 ▲
//	          │ busy            │ Preempt: cancel the running sequence,
//	          ▼                 │ wait for it, then run
//	     *BusyError ────────────┘
package sequencer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/events"
)

// Phase is one step of a sequence.
type Phase struct {
	// Name names the phase in events and logs.
	Name string
	// Step does the phase's work; an error ends the sequence.
	Step func(ctx context.Context) error
}

// Sequence is a named list of phases, run in order.
type Sequence struct {
	Name   string
	Phases []Phase
}

// BusyError is returned when a sequence is asked for while another runs.
type BusyError struct {
	// Running is the sequence that is running.
	Running string
}

// Error implements error.
func (e *BusyError) Error() string {
	return fmt.Sprintf("busy: sequence %s is running", e.Running)
}

// IsBusy reports whether err is (or wraps) a *BusyError.
func IsBusy(err error) bool {
	var b *BusyError
	return errors.As(err, &b)
}

// Sequencer runs one sequence at a time. It is safe for concurrent use.
type Sequencer struct {
	events events.Publisher
	logger *slog.Logger

	mu      sync.Mutex
	running string
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns an idle sequencer that publishes to pub and logs to logger.
func New(pub events.Publisher, logger *slog.Logger) *Sequencer {
	return &Sequencer{events: pub, logger: logger.With("component", "sequencer")}
}

// Running returns the name of the running sequence, "" when idle.
func (s *Sequencer) Running() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// Run runs seq and returns its result, or a *BusyError at once when another
// sequence is running.
func (s *Sequencer) Run(ctx context.Context, seq Sequence) error {
	ctx, done, err := s.claim(ctx, seq.Name)
	if err != nil {
		return err
	}
	return s.run(ctx, seq, done)
}

// Start claims the sequencer for seq (a *BusyError when another sequence
// runs) and runs seq on its own goroutine. The channel receives the result.
func (s *Sequencer) Start(ctx context.Context, seq Sequence) (<-chan error, error) {
	ctx, done, err := s.claim(ctx, seq.Name)
	if err != nil {
		return nil, err
	}
	result := make(chan error, 1)
	go func() { result <- s.run(ctx, seq, done) }()
	return result, nil
}

// Preempt cancels the running sequence, if any, waits for it to end (or for
// ctx), then runs seq. Shutdown on SIGTERM uses it to interrupt a boot.
func (s *Sequencer) Preempt(ctx context.Context, seq Sequence) error {
	for {
		runCtx, done, err := s.claim(ctx, seq.Name)
		if err == nil {
			return s.run(runCtx, seq, done)
		}
		s.mu.Lock()
		cancel, wait := s.cancel, s.done
		s.mu.Unlock()
		if wait == nil {
			continue // it ended in between
		}
		s.logger.Info("preempting sequence", "sequence", seq.Name)
		cancel()
		select {
		case <-wait:
		case <-ctx.Done():
			return fmt.Errorf("sequence %s: waiting for the running sequence: %w", seq.Name, ctx.Err())
		}
	}
}

// claim marks name as running and returns its context and a function that
// releases the sequencer.
func (s *Sequencer) claim(ctx context.Context, name string) (context.Context, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != "" {
		return nil, nil, &BusyError{Running: s.running}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	s.running, s.cancel, s.done = name, cancel, done
	release := func() {
		s.mu.Lock()
		s.running, s.cancel, s.done = "", nil, nil
		s.mu.Unlock()
		cancel()
		close(done)
	}
	return ctx, release, nil
}

// run runs the phases in order and publishes their events.
func (s *Sequencer) run(ctx context.Context, seq Sequence, release func()) (err error) {
	defer release()
	logger := s.logger.With("sequence", seq.Name)
	logger.Info("sequence started")
	s.events.Publish(events.Sequence(seq.Name, machine.SequenceEvent_START, nil))
	defer func() {
		if err != nil {
			logger.Error("sequence failed", "error", err)
		} else {
			logger.Info("sequence done")
		}
		s.events.Publish(events.Sequence(seq.Name, machine.SequenceEvent_STOP, err))
	}()
	for _, p := range seq.Phases {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sequence %s: before phase %s: %w", seq.Name, p.Name, err)
		}
		s.events.Publish(events.Phase(seq.Name, p.Name, machine.PhaseEvent_START, nil))
		logger.Debug("phase started", "phase", p.Name)
		err := p.Step(ctx)
		s.events.Publish(events.Phase(seq.Name, p.Name, machine.PhaseEvent_STOP, err))
		if err != nil {
			return fmt.Errorf("sequence %s: phase %s: %w", seq.Name, p.Name, err)
		}
	}
	return nil
}
