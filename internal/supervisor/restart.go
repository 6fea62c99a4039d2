package supervisor

import "time"

// RestartPolicy says when a service that ended is started again.
type RestartPolicy int

// The restart policies. The zero value is RestartAlways.
const (
	// RestartAlways restarts the service whenever it ends.
	RestartAlways RestartPolicy = iota
	// RestartOnFailure restarts it only when it failed.
	RestartOnFailure
	// RestartNever leaves it Finished or Failed.
	RestartNever
)

// String returns the policy's name as written in configs.
func (p RestartPolicy) String() string {
	switch p {
	case RestartOnFailure:
		return "on-failure"
	case RestartNever:
		return "never"
	}
	return "always"
}

// shouldRestart reports whether a run that ended with err is restarted.
func (p RestartPolicy) shouldRestart(err error) bool {
	switch p {
	case RestartNever:
		return false
	case RestartOnFailure:
		return err != nil
	}
	return true
}

// The default restart settings.
const (
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultResetAfter     = time.Minute
)

// RestartSettings are a restart policy with its exponential backoff: the
// first restart waits InitialBackoff, each next one twice as long up to
// MaxBackoff, and a run that stayed up ResetAfter or longer starts the
// sequence again. Zero durations take the defaults.
type RestartSettings struct {
	Policy         RestartPolicy
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	ResetAfter     time.Duration
}

func (s RestartSettings) withDefaults() RestartSettings {
	if s.InitialBackoff <= 0 {
		s.InitialBackoff = DefaultInitialBackoff
	}
	if s.MaxBackoff <= 0 {
		s.MaxBackoff = DefaultMaxBackoff
	}
	s.MaxBackoff = max(s.MaxBackoff, s.InitialBackoff)
	if s.ResetAfter <= 0 {
		s.ResetAfter = DefaultResetAfter
	}
	return s
}

// backoff computes restart delays; the zero value is not usable.
type backoff struct {
	settings RestartSettings
	next     time.Duration
}

func newBackoff(s RestartSettings) *backoff {
	return &backoff{settings: s.withDefaults()}
}

// delay returns how long to wait before restarting a run that stayed up
// for upFor.
func (b *backoff) delay(upFor time.Duration) time.Duration {
	if b.next == 0 || upFor >= b.settings.ResetAfter {
		b.next = b.settings.InitialBackoff
	}
	d := b.next
	b.next = min(2*b.next, b.settings.MaxBackoff)
	return d
}
