package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/supervisor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// testTimeout bounds every wait; nothing asserts on elapsed time.
const testTimeout = 30 * time.Second

// fakeService is a Service built from fields.
type fakeService struct {
	id     string
	deps   []string
	cond   supervisor.Condition
	runner func() (supervisor.Runner, error)
}

func (f *fakeService) ID() string                      { return f.id }
func (f *fakeService) DependsOn() []string             { return f.deps }
func (f *fakeService) Condition() supervisor.Condition { return f.cond }
func (f *fakeService) Runner() (supervisor.Runner, error) {
	if f.runner == nil {
		return untilStopped(), nil
	}
	return f.runner()
}

// checkedService has a health check that passes once healthy is set.
type checkedService struct {
	fakeService
	healthy atomic.Bool
}

func (c *checkedService) HealthCheck(context.Context) error {
	if c.healthy.Load() {
		return nil
	}
	return errors.New("not ready yet")
}

func (c *checkedService) HealthSettings() supervisor.HealthSettings {
	return supervisor.HealthSettings{Period: 10 * time.Millisecond}
}

// restartingService carries its own restart settings.
type restartingService struct {
	supervisor.Service
	settings supervisor.RestartSettings
}

func (r restartingService) RestartSettings() supervisor.RestartSettings { return r.settings }

// untilStopped is an in-process service that runs until stopped.
func untilStopped() supervisor.Runner {
	return &supervisor.GoroutineRunner{Func: func(ctx context.Context, log io.Writer) error {
		fmt.Fprintln(log, "up")
		<-ctx.Done()
		return nil
	}}
}

// recorder is an Observer that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []supervisor.ServiceEvent
	wake   chan struct{}
}

func (r *recorder) Observe(e supervisor.ServiceEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	if r.wake != nil {
		close(r.wake)
		r.wake = nil
	}
}

func (r *recorder) snapshot() []supervisor.ServiceEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// waitFor blocks until cond holds for the events so far.
func (r *recorder) waitFor(t *testing.T, what string, cond func([]supervisor.ServiceEvent) bool) {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		r.mu.Lock()
		ok := cond(r.events)
		if r.wake == nil {
			r.wake = make(chan struct{})
		}
		wake := r.wake
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; events:\n%s", what, formatEvents(r.snapshot()))
		}
	}
}

// waitState waits until service id has reached state n times in all.
func (r *recorder) waitState(t *testing.T, id string, state supervisor.State, n int) {
	t.Helper()
	r.waitFor(t, fmt.Sprintf("%s to be %s %d time(s)", id, state, n), func(evs []supervisor.ServiceEvent) bool {
		return count(evs, id, state) >= n
	})
}

func count(evs []supervisor.ServiceEvent, id string, state supervisor.State) int {
	n := 0
	for _, e := range evs {
		if e.ID == id && e.State == state {
			n++
		}
	}
	return n
}

// states lists the state changes of id, dropping events that only changed
// the message or health.
func states(evs []supervisor.ServiceEvent, id string) []supervisor.State {
	var out []supervisor.State
	for _, e := range evs {
		if e.ID == id && (len(out) == 0 || out[len(out)-1] != e.State) {
			out = append(out, e.State)
		}
	}
	return out
}

// index returns the position of the first event matching, or -1.
func index(evs []supervisor.ServiceEvent, match func(supervisor.ServiceEvent) bool) int {
	return slices.IndexFunc(evs, match)
}

func formatEvents(evs []supervisor.ServiceEvent) string {
	s := ""
	for _, e := range evs {
		s += fmt.Sprintf("  %s %s health=%s %q\n", e.ID, e.State, e.Health.Status, e.Message)
	}
	return s
}

// newSupervisor returns a supervisor recording its events, stopped at the
// end of the test.
func newSupervisor(t *testing.T, restart supervisor.RestartSettings) (*supervisor.Supervisor, *recorder) {
	t.Helper()
	rec := &recorder{}
	s := supervisor.New(supervisor.Options{Logger: quiet, Observer: rec, Restart: restart})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := s.StopAll(ctx); err != nil {
			t.Errorf("StopAll: %v", err)
		}
	})
	return s, rec
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}
