package engine

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
)

// supervise runs a controller until ctx is cancelled, restarting it with
// exponential backoff when it fails. A controller that returns nil before
// the cancellation is not restarted.
func (e *Engine) supervise(ctx context.Context, a *adapter, logger *slog.Logger) {
	backoff := e.opts.BackoffInitial

	for {
		start := time.Now()
		err := a.runOnce(ctx, logger)

		switch {
		case ctx.Err() != nil:
			logger.Debug("controller stopped")

			return
		case err == nil:
			logger.Info("controller finished")

			return
		}

		if time.Since(start) >= e.opts.BackoffMax {
			backoff = e.opts.BackoffInitial
		}

		logger.Error("controller failed", "error", err, "restart_in", backoff)

		select {
		case <-ctx.Done():
			return
		case <-e.after(backoff):
		}

		backoff = min(backoff*2, e.opts.BackoffMax)

		a.notify() // the new run reconciles from scratch
	}
}

// runOnce calls the controller's Run, turning a panic into an error after
// logging its stack.
func (a *adapter) runOnce(ctx context.Context, logger *slog.Logger) (err error) {
	defer func() {
		if p := recover(); p != nil {
			logger.Error("controller panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("controller %s panicked: %v", a.name, p)
		}
	}()

	if err := a.ctrl.Run(ctx, a, logger); err != nil {
		return fmt.Errorf("controller %s: %w", a.name, err)
	}

	return nil
}
