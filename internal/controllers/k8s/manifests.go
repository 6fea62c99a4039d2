package k8s

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
)

// ManifestsController renders the manifests of a control plane's config
// into Manifest resources (see renderManifests), one per manifest, and
// removes those the config no longer has. ManifestApplyController applies
// them on the node that bootstrapped the cluster.
type ManifestsController struct{}

// Name implements runtime.Controller.
func (ManifestsController) Name() string { return "k8s.ManifestsController" }

// Inputs implements runtime.Controller.
func (ManifestsController) Inputs() []runtime.Input {
	return []runtime.Input{read.ConfigInput}
}

// Outputs implements runtime.Controller.
func (ManifestsController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: k8s.ManifestType}}
}

// Run implements runtime.Controller.
func (ManifestsController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	var lastProblem string

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		}

		problem, err := reconcileManifests(ctx, r)
		if err != nil {
			return err
		}

		if problem != "" && problem != lastProblem {
			logger.Warn("manifests not rendered", "error", problem)
		}

		lastProblem = problem
	}
}

// reconcileManifests writes the Manifests of the config; it returns a
// config problem that keeps them from being rendered.
func reconcileManifests(ctx context.Context, r runtime.ControllerRuntime) (string, error) {
	tr := runtime.NewOutputTracker(r, k8s.NamespaceName, k8s.ManifestType)

	mc, err := read.Typed[resconfig.MachineConfigSpec](ctx, r, resconfig.NewMachineConfig(nil, nil).Metadata().Ref())
	if err != nil {
		return "", err
	}

	if cfg := configOf(mc); cfg != nil && cfg.Machine() != nil && cfg.Machine().Machine != nil &&
		cfg.Machine().Machine.Type == v1alpha1.TypeControlPlane {
		manifests, err := renderManifests(cfg)
		if err != nil {
			return err.Error(), nil // keep what was rendered
		}

		for _, m := range manifests {
			err := tr.Modify(ctx, k8s.NewManifest(m.id), func(res resource.Resource) error {
				*res.(*k8s.Manifest).TypedSpec() = k8s.ManifestSpec{Objects: m.objects, Hash: m.hash()}

				return nil
			})
			if err != nil {
				return "", fmt.Errorf("manifest %s: %w", m.id, err)
			}
		}
	}

	if err := tr.Cleanup(ctx); err != nil {
		return "", fmt.Errorf("manifests: %w", err)
	}

	return "", nil
}

// configOf returns the config of a MachineConfig resource, nil without one.
func configOf(mc *resconfig.MachineConfig) *config.Config {
	if mc == nil || mc.TypedSpec().Config == nil {
		return nil
	}

	return mc.TypedSpec().Config
}
