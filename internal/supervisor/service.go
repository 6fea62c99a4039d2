// Package supervisor runs the node's programs as services: it starts them
// in dependency order, watches their health, restarts them with backoff,
// stops them in reverse order and keeps their output in bounded logs.
//
// It knows nothing of resources or the API: machined loads Services, wires
// an Observer that turns ServiceEvents into events and Service resources,
// and serves Logs to plinthctl.
package supervisor

import (
	"context"
	"io"
	"strconv"
	"time"
)

// Service is one program of the node, such as etcd or kubelet.
//
// Life cycle of a loaded service:
//
//	Initialized ──Start──▶ Waiting ◀─────────────────────────────┐
//	                          │ dependencies Running (and Healthy │
//	                          │ when checked), Condition met      │
//	                          ▼                                   │ backoff
//	                      Preparing ──Runner() error──▶ Failed ──┐ │ elapsed
//	                          │ started                          │ │
//	                          ▼                                  ▼ │
//	                       Running ──exit 0──▶ Finished ──▶ Restarting
//	                          └─────exit ≠ 0──▶ Failed ────▶ (when the
//	                                                          policy allows)
//
//	Condition or Runner() returns ErrSkip ──▶ Skipped
//	Stop, from any state of a started service ──▶ Stopping ──▶ Stopped
//
// Finished, Failed (when not restarted), Skipped and Stopped are at rest;
// Start begins the cycle again. Health is separate: Unknown at each start,
// then Healthy or Unhealthy after each check while Running.
//
// A service may also implement HealthChecker (dependents then wait for it to
// be Healthy) and Restarter (its own restart policy).
type Service interface {
	// ID names the service: unique, made of letters, digits, '.', '_', '-'.
	ID() string
	// DependsOn lists the IDs of services that must be Running, and
	// Healthy if they have a health check, before this one starts.
	DependsOn() []string
	// Condition is waited for before each start; nil for none.
	Condition() Condition
	// Runner builds the runner for one run of the service.
	Runner() (Runner, error)
}

// Runner runs one instance of a service.
type Runner interface {
	// Run does the service's work, writing its output to out, and blocks
	// until the work ends. It calls started once the work is running, at
	// most once and before returning. Cancelling ctx asks it to stop; Run
	// then returns once the work has ended. A nil error means a clean exit.
	Run(ctx context.Context, out io.Writer, started func()) error
}

// Condition is something a service waits for before it starts, such as a
// file, a network address or a resource reaching a phase.
type Condition interface {
	// Wait blocks until the condition holds (nil), it cannot hold (an
	// error; one wrapping ErrSkip skips the service) or ctx is done.
	Wait(ctx context.Context) error
	// String describes what is waited for, as in "waiting for <String>".
	String() string
}

// HealthChecker is implemented by services whose health can be checked.
type HealthChecker interface {
	// HealthCheck returns nil when the service is healthy.
	HealthCheck(ctx context.Context) error
	// HealthSettings says when and how often to check.
	HealthSettings() HealthSettings
}

// HealthSettings time a service's health checks. Zero fields take the
// defaults noted.
type HealthSettings struct {
	// InitialDelay is waited after start before the first check (none).
	InitialDelay time.Duration
	// Period is the time between checks (5s).
	Period time.Duration
	// Timeout bounds one check (5s).
	Timeout time.Duration
}

// Restarter is implemented by services with their own restart settings;
// others get Options.Restart.
type Restarter interface {
	RestartSettings() RestartSettings
}

// State is a point in a service's life cycle; see Service.
type State int

// The states of a service.
const (
	Initialized State = iota
	Waiting
	Preparing
	Running
	Finished
	Failed
	Restarting
	Stopping
	Stopped
	Skipped
)

var stateNames = [...]string{
	"Initialized", "Waiting", "Preparing", "Running", "Finished",
	"Failed", "Restarting", "Stopping", "Stopped", "Skipped",
}

// String returns the state's name.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// HealthStatus is the outcome of a service's latest health check.
type HealthStatus int

// The health statuses.
const (
	HealthUnknown HealthStatus = iota
	Healthy
	Unhealthy
)

// String returns the status's name.
func (h HealthStatus) String() string {
	switch h {
	case Healthy:
		return "Healthy"
	case Unhealthy:
		return "Unhealthy"
	}
	return "Unknown"
}

// Health is a service's latest health check.
type Health struct {
	Status HealthStatus
	// Message is the check's error, empty when healthy.
	Message string
	// Time is when the check ran (zero before the first).
	Time time.Time
}

// ServiceEvent describes a service after a change of state or health.
type ServiceEvent struct {
	ID      string
	State   State
	Health  Health
	Message string
	Time    time.Time
}

// Observer is told of every change of a service's state or health. Calls
// for one service come in order. Observe must be quick, safe for concurrent
// use, and must not call the Supervisor.
type Observer interface {
	Observe(ServiceEvent)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ServiceEvent)

// Observe calls f.
func (f ObserverFunc) Observe(e ServiceEvent) { f(e) }

// ServiceInfo is a service's current status, as List returns it.
type ServiceInfo struct {
	ServiceEvent
	DependsOn []string
}
