package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"
)

// ErrStuck is returned by GoroutineRunner when its function did not return
// within the grace period after being asked to stop. The goroutine is left
// running: Go offers no way to kill it.
var ErrStuck = errors.New("goroutine did not stop within its grace period")

// GoroutineRunner runs a service implemented in this process, such as apid
// or trustd when machined hosts them. It is a Runner.
type GoroutineRunner struct {
	// Func is the service: it writes its output to log and returns when
	// ctx is done (nil for a clean stop) or when it fails.
	Func func(ctx context.Context, log io.Writer) error
	// GracePeriod is how long Func has to return once ctx is done; 10s
	// when zero.
	GracePeriod time.Duration
}

// Run calls Func on its own goroutine, converting a panic into an error
// (with its stack written to out).
func (g *GoroutineRunner) Run(ctx context.Context, out io.Writer, started func()) error {
	errc := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				fmt.Fprintf(out, "panic: %v\n%s", p, debug.Stack())
				errc <- fmt.Errorf("panic: %v", p)
			}
		}()
		errc <- g.Func(ctx, out)
	}()
	if started != nil {
		started()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	grace := g.GracePeriod
	if grace <= 0 {
		grace = 10 * time.Second
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-errc:
		return err
	case <-t.C:
		return ErrStuck
	}
}
