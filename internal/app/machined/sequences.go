package machined

import (
	"context"
	"fmt"

	"github.com/plinth-os/plinth/internal/app/machined/sequencer"
	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// The sequences, as data: each phase is a named step.

func (m *machined) bootSequence() sequencer.Sequence {
	return sequencer.Sequence{Name: "boot", Phases: []sequencer.Phase{
		{Name: "disks", Step: m.mountDisks},
		{Name: "prepare", Step: m.prepare},
		{Name: "controllers", Step: m.startControllers},
		{Name: "config", Step: m.loadConfig},
		{Name: "maintenance", Step: m.waitInMaintenance},
		{Name: "activate", Step: m.activateBootConfig},
		{Name: "install", Step: m.installIfAsked},
		{Name: "services", Step: m.startServices},
	}}
}

func (m *machined) rebootSequence() sequencer.Sequence {
	return sequencer.Sequence{Name: "reboot", Phases: []sequencer.Phase{
		{Name: "status", Step: m.stageStep(rtres.StageRebooting)},
		{Name: "stop-services", Step: m.stopServices},
		{Name: "power", Step: m.power.Reboot},
	}}
}

func (m *machined) shutdownSequence() sequencer.Sequence {
	return sequencer.Sequence{Name: "shutdown", Phases: []sequencer.Phase{
		{Name: "status", Step: m.stageStep(rtres.StageShuttingDown)},
		{Name: "stop-services", Step: m.stopServices},
		{Name: "power", Step: m.power.Shutdown},
	}}
}

func (m *machined) resetSequence(opts server.ResetOptions) sequencer.Sequence {
	phases := []sequencer.Phase{
		{Name: "status", Step: m.stageStep(rtres.StageResetting)},
	}
	if opts.Graceful {
		phases = append(phases,
			sequencer.Phase{Name: "drain", Step: m.drainNode},
			sequencer.Phase{Name: "leave-etcd", Step: m.leaveEtcd})
	}
	phases = append(phases, []sequencer.Phase{
		{Name: "stop-services", Step: m.stopServices},
		{Name: "stop-leftovers", Step: m.stopLeftovers},
		{Name: "remove-config", Step: m.removeConfig},
		{Name: "mark-wipe", Step: m.markWipe(opts)},
	}...)
	if opts.WipeEphemeral {
		phases = append(phases, sequencer.Phase{Name: "wipe-ephemeral", Step: m.wipeEphemeral})
	}
	if m.opts.Mode == validation.ModeMetal {
		phases = append(phases, sequencer.Phase{Name: "wipe-state", Step: m.wipeState})
	}
	powerStep := m.power.Reboot // container nodes restart into maintenance mode
	if m.opts.Mode == validation.ModeMetal && !opts.Reboot {
		powerStep = m.power.Shutdown
	}
	return sequencer.Sequence{Name: "reset", Phases: append(phases, sequencer.Phase{Name: "power", Step: powerStep})}
}

func (m *machined) applySequence(step func(context.Context) error) sequencer.Sequence {
	return sequencer.Sequence{Name: "apply-config", Phases: []sequencer.Phase{{Name: "apply", Step: step}}}
}

// stageStep returns a phase step that records the machine's stage.
func (m *machined) stageStep(stage rtres.Stage) func(context.Context) error {
	return func(ctx context.Context) error { return m.setStage(ctx, stage) }
}

// stopServices stops every service, dependents first.
func (m *machined) stopServices(ctx context.Context) error {
	if err := m.sup.StopAll(ctx); err != nil {
		return fmt.Errorf("stop services: %w", err)
	}
	return nil
}
