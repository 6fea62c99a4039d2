package supervisor

import (
	"context"
	"time"
)

// Default health check timing.
const (
	DefaultHealthPeriod  = 5 * time.Second
	DefaultHealthTimeout = 5 * time.Second
	// StartupHealthPeriod is how often a service that has not yet been
	// healthy is checked (when shorter than its Period), so dependents start
	// as soon as it is up rather than up to a Period later.
	StartupHealthPeriod = 500 * time.Millisecond
)

func (h HealthSettings) withDefaults() HealthSettings {
	if h.Period <= 0 {
		h.Period = DefaultHealthPeriod
	}
	if h.Timeout <= 0 {
		h.Timeout = DefaultHealthTimeout
	}
	return h
}

// checkHealth runs the service's health check until ctx ends.
func (in *instance) checkHealth(ctx context.Context, hc HealthChecker) {
	settings := hc.HealthSettings().withDefaults()
	t := time.NewTimer(settings.InitialDelay)
	defer t.Stop()
	healthyOnce := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, settings.Timeout)
		err := hc.HealthCheck(cctx)
		cancel()
		if ctx.Err() != nil {
			return // the run ended; its last result no longer matters
		}
		in.setHealth(err)
		healthyOnce = healthyOnce || err == nil
		next := settings.Period
		if !healthyOnce && StartupHealthPeriod < next {
			next = StartupHealthPeriod
		}
		t.Reset(next)
	}
}

// setHealth records a check's result; a change of status or message is
// reported and wakes dependents.
func (in *instance) setHealth(err error) {
	h := Health{Status: Healthy, Time: time.Now()}
	if err != nil {
		h.Status, h.Message = Unhealthy, err.Error()
	}
	in.mu.Lock()
	changed := h.Status != in.health.Status || h.Message != in.health.Message
	in.health = h
	if changed && in.state == Running && !in.stopping {
		in.logger.Info("service health changed", "health", h.Status.String(), "message", h.Message)
		in.notifyLocked()
	}
	in.mu.Unlock()
	if changed {
		in.sup.broadcast()
	}
}
