package network

import "time"

// Retry bounds of the apply controllers and the DHCP client.
const (
	DefaultRetryInitial = time.Second
	DefaultRetryMax     = 30 * time.Second
)

// backoff doubles a delay from initial up to max.
type backoff struct {
	initial, max, cur time.Duration
}

func newBackoff(initial, maxDelay time.Duration) *backoff {
	if initial <= 0 {
		initial = DefaultRetryInitial
	}
	if maxDelay < initial {
		maxDelay = max(DefaultRetryMax, initial)
	}
	return &backoff{initial: initial, max: maxDelay}
}

// next returns the delay before the next attempt and doubles it.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.initial
	}
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	return d
}

// reset starts over after a success.
func (b *backoff) reset() { b.cur = 0 }

// retryTimer is a stopped timer a controller arms after a failed apply.
type retryTimer struct {
	t *time.Timer
	b *backoff
}

func newRetryTimer(initial, maxDelay time.Duration) *retryTimer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &retryTimer{t: t, b: newBackoff(initial, maxDelay)}
}

// C fires when a retry is due.
func (r *retryTimer) C() <-chan time.Time { return r.t.C }

// done arms the timer after a failure, or disarms it after a success.
func (r *retryTimer) done(failed bool) {
	r.t.Stop()
	if !failed {
		r.b.reset()
		return
	}
	r.t.Reset(r.b.next())
}

// stop releases the timer.
func (r *retryTimer) stop() { r.t.Stop() }
