// Package files holds the controllers of what machined writes for the
// user: the static files of machine.files and the services' environment.
package files

import (
	"context"
	"fmt"
	"log/slog"
	"maps"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/files"
)

// EnvironmentController publishes machine.env as the Environment resource,
// which machined passes to every service. Without a config there is none.
type EnvironmentController struct{}

// Name implements runtime.Controller.
func (EnvironmentController) Name() string { return "files.EnvironmentController" }

// Inputs implements runtime.Controller.
func (EnvironmentController) Inputs() []runtime.Input {
	return []runtime.Input{read.ConfigInput}
}

// Outputs implements runtime.Controller.
func (EnvironmentController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: files.EnvironmentType}}
}

// Run implements runtime.Controller.
func (c EnvironmentController) Run(ctx context.Context, r runtime.ControllerRuntime, _ *slog.Logger) error {
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

func (EnvironmentController) reconcile(ctx context.Context, r runtime.ControllerRuntime) error {
	m, err := read.MachineConfig(ctx, r)
	if err != nil {
		return err
	}

	tr := runtime.NewOutputTracker(r, files.NamespaceName, files.EnvironmentType)

	if m != nil && m.Machine != nil {
		vars := maps.Clone(m.Machine.Env)
		if vars == nil {
			vars = map[string]string{}
		}

		err := tr.Modify(ctx, files.NewEnvironment(), func(res resource.Resource) error {
			res.(*files.Environment).TypedSpec().Variables = vars

			return nil
		})
		if err != nil {
			return fmt.Errorf("environment: %w", err)
		}
	}

	return tr.Cleanup(ctx)
}
