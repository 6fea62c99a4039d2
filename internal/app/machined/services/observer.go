package services

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/events"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/supervisor"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// writeTimeout bounds one resource write of the observer.
const writeTimeout = 5 * time.Second

// Observer publishes every service change as an event and as the
// service's runtime.Service resource. It is a supervisor.Observer.
type Observer struct {
	State  runtime.State
	Events events.Publisher
	Logger *slog.Logger
	// OnChange, when set, is called after each change (machined derives
	// its readiness from it). It must not call the supervisor.
	OnChange func(supervisor.ServiceEvent)
}

// Observe implements supervisor.Observer.
func (o *Observer) Observe(e supervisor.ServiceEvent) {
	o.Events.Publish(&machine.Event{Payload: &machine.Event_Service{Service: &machine.ServiceStateEvent{
		Service: e.ID, State: e.State.String(), Message: e.Message, Health: Health(e.Health),
	}}})
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	err := runtime.ModifyTyped(ctx, o.State, rtres.NewService(e.ID), func(r *rtres.Service) error {
		*r.TypedSpec() = Spec(e)
		return nil
	})
	if err != nil {
		o.Logger.Warn("service resource update failed", "component", "services", "service", e.ID, "error", err)
	}
	if o.OnChange != nil {
		o.OnChange(e)
	}
}

// Spec converts a service event to its resource spec.
func Spec(e supervisor.ServiceEvent) rtres.ServiceSpec {
	running := e.State == supervisor.Running
	return rtres.ServiceSpec{
		State:   e.State.String(),
		Running: running,
		Healthy: running && e.Health.Status != supervisor.Unhealthy,
		Unknown: e.Health.Status == supervisor.HealthUnknown,
		Message: e.Message,
	}
}

// Health converts a supervisor health to its API form.
func Health(h supervisor.Health) *machine.ServiceHealth {
	out := &machine.ServiceHealth{
		Unknown:     h.Status == supervisor.HealthUnknown,
		Healthy:     h.Status == supervisor.Healthy,
		LastMessage: h.Message,
	}
	if !h.Time.IsZero() {
		out.LastChange = timestamppb.New(h.Time)
	}
	return out
}
