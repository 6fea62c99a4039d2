package server

import (
	"context"
	"log/slog"
	"runtime"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/apply"
	"github.com/plinth-os/plinth/internal/supervisor"
	"github.com/plinth-os/plinth/internal/supervisor/logs"
	"github.com/plinth-os/plinth/pkg/machinery/version"
)

// Node is the machine the API acts on; machined implements it.
type Node interface {
	// Platform is "metal" or "container".
	Platform() string
	// Maintenance reports whether the node waits for its machine config.
	Maintenance() bool
	// Apply applies a machine config (see package apply).
	Apply(ctx context.Context, req apply.Request) (*apply.Result, error)
	// Config returns the active config's bytes, nil when there is none.
	Config() []byte
	// Hostname returns the node's hostname.
	Hostname(ctx context.Context) (string, error)
	// Reboot, Shutdown and Reset start their sequence and return once it
	// is started (a *sequencer.BusyError when another one runs).
	Reboot(ctx context.Context) error
	Shutdown(ctx context.Context, force bool) error
	Reset(ctx context.Context, opts ResetOptions) error
}

// ResetOptions are a validated ResetRequest.
type ResetOptions struct {
	// WipeEphemeral also empties /var (EPHEMERAL).
	WipeEphemeral bool
	// Reboot reboots after the reset (container nodes always do).
	Reboot bool
	// Graceful leaves etcd and drains the node first.
	Graceful bool
}

// Services is the supervisor, as the API uses it.
type Services interface {
	List() []supervisor.ServiceInfo
	Launch(ids ...string) error
	Stop(ctx context.Context, ids ...string) error
	Logs(id string) (*logs.Log, error)
}

// EventSource replays and follows machined's events (see package events).
type EventSource interface {
	Watch(ctx context.Context, tail int, emit func(*machine.Event) error) error
}

// MachineOptions wire a Machine server.
type MachineOptions struct {
	Node      Node
	Services  Services
	Events    EventSource
	Inspector Inspector
	// History returns a service's recent state changes, oldest first.
	History func(id string) []supervisor.ServiceEvent
	// Bootstrap starts etcd as a new cluster (nil: Unimplemented).
	Bootstrap Bootstrapper
	// Kubernetes gives the etcd, image, container and kubeconfig RPCs
	// what they act on.
	Kubernetes KubernetesOptions
	// Upgrader upgrades and rolls back the node (nil: the RPCs fail).
	Upgrader Upgrader
	Logger   *slog.Logger
}

// Machine implements machine.MachineServiceServer.
type Machine struct {
	machine.UnimplementedMachineServiceServer
	opts   MachineOptions
	logger *slog.Logger
}

// NewMachine returns the MachineService server.
func NewMachine(opts MachineOptions) *Machine {
	if opts.History == nil {
		opts.History = func(string) []supervisor.ServiceEvent { return nil }
	}
	if opts.Inspector == nil {
		opts.Inspector = noInspector{}
	}
	return &Machine{opts: opts, logger: logger(opts.Logger).With("component", "machine-api")}
}

// Version reports the build, the platform and whether the node is in
// maintenance mode.
func (m *Machine) Version(context.Context, *emptypb.Empty) (*machine.VersionResponse, error) {
	return &machine.VersionResponse{Messages: []*machine.Version{{
		Version: &machine.VersionInfo{
			Tag: version.Tag, GoVersion: version.GoVersion(), Os: runtime.GOOS, Arch: runtime.GOARCH,
			Kubernetes: version.Kubernetes,
		},
		Platform:    &machine.PlatformInfo{Mode: m.opts.Node.Platform()},
		Maintenance: m.opts.Node.Maintenance(),
	}}}, nil
}

// ApplyConfiguration validates and applies a machine config.
func (m *Machine) ApplyConfiguration(ctx context.Context, req *machine.ApplyConfigurationRequest) (*machine.ApplyConfigurationResponse, error) {
	if len(req.GetData()) == 0 {
		return nil, invalidArgument("data is empty: send a machine config")
	}
	if _, ok := machine.ApplyConfigurationRequest_Mode_name[int32(req.GetMode())]; !ok {
		return nil, invalidArgument("unknown mode %d", req.GetMode())
	}
	ar := apply.Request{Data: req.GetData(), Mode: req.GetMode(), DryRun: req.GetDryRun()}
	if t := req.GetTryModeTimeout(); t != nil {
		if err := t.CheckValid(); err != nil || t.AsDuration() <= 0 {
			return nil, invalidArgument("try_mode_timeout must be a positive duration")
		}
		if req.GetMode() != machine.ApplyConfigurationRequest_TRY {
			return nil, invalidArgument("try_mode_timeout is only valid with mode TRY")
		}
		ar.TryTimeout = t.AsDuration()
	}
	res, err := m.opts.Node.Apply(ctx, ar)
	if err != nil {
		return nil, toStatus(err)
	}
	return &machine.ApplyConfigurationResponse{Messages: []*machine.ApplyConfiguration{{
		Warnings: res.Warnings, Mode: res.Mode, ModeDetails: res.Details, Diff: res.Diff,
	}}}, nil
}

// GetConfiguration returns the active config's bytes.
func (m *Machine) GetConfiguration(context.Context, *emptypb.Empty) (*machine.GetConfigurationResponse, error) {
	data := m.opts.Node.Config()
	if data == nil {
		return nil, status.Error(codes.FailedPrecondition, "no machine config: the node is in maintenance mode")
	}
	return &machine.GetConfigurationResponse{Messages: []*machine.GetConfiguration{{Data: data}}}, nil
}

// Hostname returns the node's hostname.
func (m *Machine) Hostname(ctx context.Context, _ *emptypb.Empty) (*machine.HostnameResponse, error) {
	h, err := m.opts.Node.Hostname(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &machine.HostnameResponse{Messages: []*machine.Hostname{{Hostname: h}}}, nil
}

// Reboot starts the reboot sequence and replies before it runs.
func (m *Machine) Reboot(ctx context.Context, req *machine.RebootRequest) (*machine.RebootResponse, error) {
	if _, ok := machine.RebootRequest_Mode_name[int32(req.GetMode())]; !ok {
		return nil, invalidArgument("unknown reboot mode %d", req.GetMode())
	}
	if err := m.opts.Node.Reboot(ctx); err != nil {
		return nil, toStatus(err)
	}
	return &machine.RebootResponse{Messages: []*machine.Reboot{{}}}, nil
}

// Shutdown starts the shutdown sequence and replies before it runs.
func (m *Machine) Shutdown(ctx context.Context, req *machine.ShutdownRequest) (*machine.ShutdownResponse, error) {
	if err := m.opts.Node.Shutdown(ctx, req.GetForce()); err != nil {
		return nil, toStatus(err)
	}
	return &machine.ShutdownResponse{Messages: []*machine.Shutdown{{}}}, nil
}

// Labels of the system partitions a reset may wipe.
const (
	partitionState     = "STATE"
	partitionEphemeral = "EPHEMERAL"
)

// Reset starts the reset sequence and replies before it runs.
func (m *Machine) Reset(ctx context.Context, req *machine.ResetRequest) (*machine.ResetResponse, error) {
	opts, err := resetOptions(req)
	if err != nil {
		return nil, err
	}
	if err := m.opts.Node.Reset(ctx, opts); err != nil {
		return nil, toStatus(err)
	}
	return &machine.ResetResponse{Messages: []*machine.Reset{{}}}, nil
}

// resetOptions validates a ResetRequest. STATE (the config) is always
// wiped; EPHEMERAL (/var) when listed, or when no partition is listed and
// the mode covers the system disk.
func resetOptions(req *machine.ResetRequest) (ResetOptions, error) {
	if _, ok := machine.ResetRequest_WipeMode_name[int32(req.GetMode())]; !ok {
		return ResetOptions{}, invalidArgument("unknown wipe mode %d", req.GetMode())
	}
	opts := ResetOptions{Reboot: req.GetReboot(), Graceful: req.GetGraceful()}
	parts := req.GetSystemPartitionsToWipe()
	for _, p := range parts {
		switch p {
		case partitionState:
		case partitionEphemeral:
			opts.WipeEphemeral = true
		default:
			return ResetOptions{}, invalidArgument("unknown system partition %q: expected %s or %s", p, partitionState, partitionEphemeral)
		}
	}
	if len(parts) == 0 && req.GetMode() != machine.ResetRequest_USER_DISKS {
		opts.WipeEphemeral = true
	}
	return opts, nil
}
