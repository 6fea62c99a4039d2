// Package read holds the small input readers controllers share.
package read

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
)

// ConfigInput is the input every config-driven controller declares.
var ConfigInput = runtime.Input{
	Namespace: resconfig.NamespaceName,
	Type:      resconfig.MachineConfigType,
	ID:        resconfig.ActiveID,
}

// Typed returns the resource ref points to as *resource.Typed[S], or nil
// when it does not exist.
func Typed[S any](ctx context.Context, r runtime.Reader, ref resource.Ref) (*resource.Typed[S], error) {
	res, err := r.Get(ctx, ref)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil, nil
	}

	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ref, err)
	}

	typed, ok := res.(*resource.Typed[S])
	if !ok {
		return nil, fmt.Errorf("read %s: stored resource is %T", ref, res)
	}

	return typed, nil
}

// MachineConfig returns the MachineConfig document of the active config,
// or nil when there is no config (maintenance mode, after a reset). The
// document is shared and must not be changed.
func MachineConfig(ctx context.Context, r runtime.Reader) (*v1alpha1.MachineConfig, error) {
	mc, err := Typed[resconfig.MachineConfigSpec](ctx, r, resconfig.NewMachineConfig(nil, nil).Metadata().Ref())
	if err != nil || mc == nil {
		return nil, err
	}

	cfg := mc.TypedSpec().Config
	if cfg == nil || cfg.Machine() == nil {
		return nil, fmt.Errorf("read machine config: %s has no MachineConfig document", resconfig.ActiveID)
	}

	return cfg.Machine(), nil
}
