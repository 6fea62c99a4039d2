package engine

import "time"

// SetAfter replaces the timer the engine waits on between restarts.
func SetAfter(e *Engine, after func(time.Duration) <-chan time.Time) {
	e.after = after
}
