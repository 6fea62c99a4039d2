package sequencer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/sequencer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const timeout = 10 * time.Second

// recorder keeps published events as short strings.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) Publish(ev *machine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch p := ev.Payload.(type) {
	case *machine.Event_Sequence:
		r.log = append(r.log, fmt.Sprintf("%s %s %s", p.Sequence.Sequence, p.Sequence.Action, p.Sequence.Error))
	case *machine.Event_Phase:
		r.log = append(r.log, fmt.Sprintf("%s/%s %s %s", p.Phase.Sequence, p.Phase.Phase, p.Phase.Action, p.Phase.Error))
	}
}

func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.log))
	for i, l := range r.log {
		out[i] = strings.TrimSpace(l)
	}
	return out
}

func newSequencer() (*sequencer.Sequencer, *recorder) {
	rec := &recorder{}
	return sequencer.New(rec, slog.New(slog.DiscardHandler)), rec
}

func step(trace *[]string, name string, err error) sequencer.Phase {
	return sequencer.Phase{Name: name, Step: func(context.Context) error {
		*trace = append(*trace, name)
		return err
	}}
}

func TestOrderAndEvents(t *testing.T) {
	s, rec := newSequencer()
	var trace []string
	boom := errors.New("boom")
	err := s.Run(context.Background(), sequencer.Sequence{Name: "boot", Phases: []sequencer.Phase{
		step(&trace, "one", nil), step(&trace, "two", boom), step(&trace, "three", nil),
	}})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "phase two") {
		t.Fatalf("Run = %v, want boom from phase two", err)
	}
	if strings.Join(trace, ",") != "one,two" {
		t.Fatalf("phases run = %v, want one,two", trace)
	}
	want := []string{
		"boot START", "boot/one START", "boot/one STOP", "boot/two START",
		"boot/two STOP boom", "boot STOP sequence boot: phase two: boom",
	}
	if got := rec.lines(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s.Running() != "" {
		t.Fatalf("still running %q", s.Running())
	}
}

// blocking returns a sequence whose only phase waits for release or ctx.
func blocking(name string, entered chan<- struct{}, release <-chan struct{}) sequencer.Sequence {
	return sequencer.Sequence{Name: name, Phases: []sequencer.Phase{{Name: "wait", Step: func(ctx context.Context) error {
		close(entered)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}}}
}

func TestBusy(t *testing.T) {
	s, _ := newSequencer()
	entered, release := make(chan struct{}), make(chan struct{})
	result, err := s.Start(context.Background(), blocking("boot", entered, release))
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	err = s.Run(context.Background(), sequencer.Sequence{Name: "reboot"})
	if !sequencer.IsBusy(err) || err.Error() != "busy: sequence boot is running" {
		t.Fatalf("second Run = %v, want busy", err)
	}
	if _, err := s.Start(context.Background(), sequencer.Sequence{Name: "reset"}); !sequencer.IsBusy(err) {
		t.Fatalf("second Start = %v, want busy", err)
	}
	close(release)
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background(), sequencer.Sequence{Name: "reboot"}); err != nil {
		t.Fatalf("Run after the first ended = %v", err)
	}
}

func TestPreempt(t *testing.T) {
	s, rec := newSequencer()
	entered := make(chan struct{})
	result, err := s.Start(context.Background(), blocking("boot", entered, nil))
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	var trace []string
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.Preempt(ctx, sequencer.Sequence{Name: "shutdown", Phases: []sequencer.Phase{step(&trace, "stop", nil)}}); err != nil {
		t.Fatal(err)
	}
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("preempted boot = %v, want canceled", err)
	}
	lines := rec.lines()
	if len(trace) != 1 || lines[len(lines)-1] != "shutdown STOP" {
		t.Fatalf("shutdown did not run after boot: %v", lines)
	}
}

func TestCancelledContextRunsNoPhase(t *testing.T) {
	s, _ := newSequencer()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var trace []string
	err := s.Run(ctx, sequencer.Sequence{Name: "boot", Phases: []sequencer.Phase{step(&trace, "one", nil)}})
	if !errors.Is(err, context.Canceled) || len(trace) != 0 {
		t.Fatalf("Run = %v, trace %v", err, trace)
	}
}
