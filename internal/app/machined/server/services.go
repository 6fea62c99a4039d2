package server

import (
	"context"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/services"
	"github.com/plinth-os/plinth/internal/supervisor"
)

// ServiceList lists the loaded services with their health and recent events.
func (m *Machine) ServiceList(context.Context, *emptypb.Empty) (*machine.ServiceListResponse, error) {
	list := m.opts.Services.List()
	out := make([]*machine.ServiceInfo, len(list))
	for i, s := range list {
		info := &machine.ServiceInfo{
			Id: s.ID, State: s.State.String(), DependsOn: s.DependsOn, Health: services.Health(s.Health),
		}
		for _, e := range m.opts.History(s.ID) {
			info.Events = append(info.Events, &machine.ServiceEvent{
				State: e.State.String(), Msg: e.Message, Ts: timestamppb.New(e.Time),
			})
		}
		out[i] = info
	}
	return &machine.ServiceListResponse{Messages: []*machine.ServiceList{{Services: out}}}, nil
}

// checkService validates a service id and checks that it is loaded.
func (m *Machine) checkService(id string) error {
	if id == "" {
		return invalidArgument("id is empty: name a service")
	}
	if !slices.ContainsFunc(m.opts.Services.List(), func(s supervisor.ServiceInfo) bool { return s.ID == id }) {
		return status.Errorf(codes.NotFound, "service %q not found", id)
	}
	return nil
}

// ServiceStart starts a service (and what it depends on) without waiting.
func (m *Machine) ServiceStart(_ context.Context, req *machine.ServiceRequest) (*machine.ServiceActionResponse, error) {
	if err := m.checkService(req.GetId()); err != nil {
		return nil, err
	}
	if err := m.opts.Services.Launch(req.GetId()); err != nil {
		return nil, toStatus(err)
	}
	return serviceAction("service " + req.GetId() + " started"), nil
}

// ServiceStop stops a service and its dependents, and waits for them.
func (m *Machine) ServiceStop(ctx context.Context, req *machine.ServiceRequest) (*machine.ServiceActionResponse, error) {
	if err := m.checkService(req.GetId()); err != nil {
		return nil, err
	}
	if err := m.opts.Services.Stop(ctx, req.GetId()); err != nil {
		return nil, toStatus(err)
	}
	return serviceAction("service " + req.GetId() + " stopped"), nil
}

// ServiceRestart stops a service, waits for it, and starts it again.
func (m *Machine) ServiceRestart(ctx context.Context, req *machine.ServiceRequest) (*machine.ServiceActionResponse, error) {
	if err := m.checkService(req.GetId()); err != nil {
		return nil, err
	}
	if err := m.opts.Services.Stop(ctx, req.GetId()); err != nil {
		return nil, toStatus(err)
	}
	if err := m.opts.Services.Launch(req.GetId()); err != nil {
		return nil, toStatus(err)
	}
	return serviceAction("service " + req.GetId() + " restarted"), nil
}

func serviceAction(msg string) *machine.ServiceActionResponse {
	return &machine.ServiceActionResponse{Messages: []*machine.ServiceAction{{Resp: msg}}}
}

// Logs streams a service's log: its last tail_lines lines (all when
// negative), then new output when follow is set.
func (m *Machine) Logs(req *machine.LogsRequest, srv grpc.ServerStreamingServer[common.Data]) error {
	if req.GetKubernetes() {
		return m.kubernetesLogs(req, srv)
	}
	if err := m.checkService(req.GetId()); err != nil {
		return err
	}
	log, err := m.opts.Services.Logs(req.GetId())
	if err != nil {
		return toStatus(err)
	}
	tail := int(req.GetTailLines())
	send := func(b []byte) error { return srv.Send(&common.Data{Bytes: b}) }
	if !req.GetFollow() {
		_, err := chunkWriter{send: send}.Write(log.Tail(tail))
		return err
	}
	return streamReader(log.Follow(srv.Context(), tail), send)
}

// Events replays the last tail_events events (-1: all kept) and follows
// new ones until the client goes away.
func (m *Machine) Events(req *machine.EventsRequest, srv grpc.ServerStreamingServer[machine.Event]) error {
	if req.GetTailEvents() < -1 {
		return invalidArgument("tail_events is %d: expected -1 (all kept) or more", req.GetTailEvents())
	}
	return m.opts.Events.Watch(srv.Context(), int(req.GetTailEvents()), srv.Send)
}
