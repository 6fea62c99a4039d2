// Package config holds the controllers that derive node facts directly from
// the machine config.
package config

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
)

// MachineTypeController publishes the node's role (machine.type) as the
// MachineType resource; without a config there is no MachineType.
type MachineTypeController struct{}

// Name implements runtime.Controller.
func (MachineTypeController) Name() string { return "config.MachineTypeController" }

// Inputs implements runtime.Controller.
func (MachineTypeController) Inputs() []runtime.Input {
	return []runtime.Input{read.ConfigInput}
}

// Outputs implements runtime.Controller.
func (MachineTypeController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: resconfig.MachineTypeType}}
}

// Run implements runtime.Controller.
func (c MachineTypeController) Run(ctx context.Context, r runtime.ControllerRuntime, _ *slog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		}

		if err := c.reconcile(ctx, r); err != nil {
			return err
		}
	}
}

func (MachineTypeController) reconcile(ctx context.Context, r runtime.ControllerRuntime) error {
	m, err := read.MachineConfig(ctx, r)
	if err != nil {
		return err
	}

	tr := runtime.NewOutputTracker(r, resconfig.NamespaceName, resconfig.MachineTypeType)

	if m != nil && m.Machine != nil {
		typ := m.Machine.Type

		err := tr.Modify(ctx, resconfig.NewMachineType(), func(res resource.Resource) error {
			res.(*resconfig.MachineType).TypedSpec().Type = typ

			return nil
		})
		if err != nil {
			return fmt.Errorf("machine type: %w", err)
		}
	}

	return tr.Cleanup(ctx)
}
