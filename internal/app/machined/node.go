package machined

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/plinth-os/plinth/internal/app/machined/apply"
	"github.com/plinth-os/plinth/internal/app/machined/events"
	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/internal/app/machined/services"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/supervisor"
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
	resfiles "github.com/plinth-os/plinth/pkg/machinery/resources/files"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// resourceDefinition is a published resource definition.
type resourceDefinition = resource.Typed[resource.Definition]

var (
	_ server.Node = (*machined)(nil)
	_ apply.Node  = (*machined)(nil)
)

// path joins a node path to the root.
func (m *machined) path(p string) string { return filepath.Join(m.opts.Root, p) }

// Platform implements server.Node.
func (m *machined) Platform() string { return string(m.opts.Mode) }

// Maintenance implements server.Node.
func (m *machined) Maintenance() bool { return m.applier.InMaintenance() }

// Apply implements server.Node: a dry run or an apply in maintenance mode
// runs as is (the boot sequence is waiting for it); any other apply runs as
// the apply-config sequence, and a reboot it asks for starts after it.
func (m *machined) Apply(ctx context.Context, req apply.Request) (*apply.Result, error) {
	if req.DryRun || m.applier.InMaintenance() {
		return m.applier.Apply(ctx, req)
	}
	var res *apply.Result
	err := m.seq.Run(ctx, m.applySequence(func(ctx context.Context) error {
		var err error
		res, err = m.applier.Apply(ctx, req)
		return err
	}))
	if err != nil {
		return nil, err
	}
	if res.Reboot {
		if err := m.startSequence(m.rebootSequence()); err != nil {
			return nil, fmt.Errorf("config stored, but the reboot could not start: %w", err)
		}
	}
	return res, nil
}

// Activate implements apply.Node: the MachineConfig resource carries the
// config to the controllers.
func (m *machined) Activate(ctx context.Context, cfg *config.Config, raw []byte) error {
	return runtime.ModifyTyped(ctx, m.state, resconfig.NewMachineConfig(cfg, raw), func(r *resconfig.MachineConfig) error {
		*r.TypedSpec() = resconfig.MachineConfigSpec{Config: cfg, Raw: string(raw)}
		return nil
	})
}

// Config implements server.Node.
func (m *machined) Config() []byte {
	_, raw := m.applier.Active()
	return raw
}

// Hostname implements server.Node: the Hostname resource, else the kernel's.
func (m *machined) Hostname(ctx context.Context) (string, error) {
	r, err := m.state.Get(ctx, resnet.NewHostname().Metadata().Ref())
	if err == nil {
		if h, ok := r.(*resnet.Hostname); ok && h.TypedSpec().Hostname != "" {
			return h.TypedSpec().Hostname, nil
		}
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("hostname: %w", err)
	}
	return h, nil
}

// Reboot implements server.Node.
func (m *machined) Reboot(context.Context) error { return m.startSequence(m.rebootSequence()) }

// Shutdown implements server.Node; force interrupts a running sequence.
func (m *machined) Shutdown(_ context.Context, force bool) error {
	if !force {
		return m.startSequence(m.shutdownSequence())
	}
	m.wg.Go(func() {
		if err := m.seq.Preempt(m.life, m.shutdownSequence()); err != nil {
			m.logger.Error("forced shutdown failed", "error", err)
		}
	})
	return nil
}

// Reset implements server.Node.
func (m *machined) Reset(ctx context.Context, opts server.ResetOptions) error {
	if opts.Graceful {
		if err := m.checkGracefulReset(ctx); err != nil {
			return err
		}
	}
	return m.startSequence(m.resetSequence(opts))
}

// removeConfig deletes the stored configs and the MachineConfig resource.
func (m *machined) removeConfig(ctx context.Context) error {
	if err := m.store.Remove(); err != nil {
		return err
	}
	err := m.state.Destroy(ctx, resconfig.NewMachineConfig(nil, nil).Metadata().Ref())
	if err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return fmt.Errorf("destroy machine config: %w", err)
	}
	m.applier.Clear()
	m.publishConfig("config removed by reset")
	return nil
}

// wipeEphemeral empties <Root>/var, keeping the directory itself.
func (m *machined) wipeEphemeral(context.Context) error {
	if err := m.unmountUnderVar(); err != nil {
		return fmt.Errorf("wipe /var: %w", err)
	}
	dir := m.path(constants.VarDir)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("wipe %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("wipe %s: %w", dir, err)
		}
	}
	return nil
}

// setStage records the machine's stage in the MachineStatus resource.
func (m *machined) setStage(ctx context.Context, stage rtres.Stage) error {
	m.mu.Lock()
	m.stage = stage
	m.mu.Unlock()
	return m.writeStatus(ctx)
}

// serviceChanged tracks apid, whose running state makes the node ready.
func (m *machined) serviceChanged(e supervisor.ServiceEvent) {
	m.history.add(e)
	if e.ID != services.APID {
		return
	}
	m.mu.Lock()
	changed := m.apidRunning != (e.State == supervisor.Running)
	m.apidRunning = e.State == supervisor.Running
	m.mu.Unlock()
	if changed {
		if err := m.writeStatus(m.life); err != nil && m.life.Err() == nil {
			m.logger.Warn("machine status update failed", "error", err)
		}
	}
}

// writeStatus writes MachineStatus from the stage and apid's state.
func (m *machined) writeStatus(ctx context.Context) error {
	m.mu.Lock()
	spec := rtres.MachineStatusSpec{Stage: m.stage}
	spec.Ready = m.stage == rtres.StageRunning && (m.apidRunning || m.opts.DisableServices)
	m.mu.Unlock()
	err := runtime.ModifyTyped(ctx, m.state, rtres.NewMachineStatus(), func(r *rtres.MachineStatus) error {
		*r.TypedSpec() = spec
		return nil
	})
	if err != nil {
		return fmt.Errorf("machine status: %w", err)
	}
	m.events.Publish(events.Status(string(spec.Stage), spec.Ready))
	m.logger.Info("machine status", "stage", string(spec.Stage), "ready", spec.Ready)
	return nil
}

func (m *machined) publishConfig(msg string) {
	m.events.Publish(events.Config(msg))
}

// serviceEnv is the services' environment: the Environment resource.
func (m *machined) serviceEnv() []string {
	r, err := m.state.Get(m.life, resfiles.NewEnvironment().Metadata().Ref())
	if err != nil {
		return nil
	}
	env, ok := r.(*resfiles.Environment)
	if !ok {
		return nil
	}
	var out []string
	for k, v := range env.TypedSpec().Variables {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// setHostname returns the kernel hostname setter, or nil (leave the kernel
// alone) unless machined is PID 1, whose UTS namespace is the node's own.
func setHostname() func(string) error {
	if os.Getpid() != 1 {
		return nil
	}
	return func(name string) error {
		if err := unix.Sethostname([]byte(name)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
		return nil
	}
}
