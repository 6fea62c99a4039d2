package network

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/sys/cmdline"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// NetworkConfigController turns the machine config, the links the kernel
// has and the kernel's ip= argument into LinkSpec, AddressSpec and
// RouteSpec resources (see Derive). The DHCP controller adds its own
// address and route specs next to these; the apply controllers make the
// kernel match them all.
type NetworkConfigController struct {
	// IP is the kernel's ip= argument; nil when absent.
	IP *cmdline.IPConfig
}

// Name implements runtime.Controller.
func (*NetworkConfigController) Name() string { return "network.NetworkConfigController" }

// Inputs implements runtime.Controller.
func (*NetworkConfigController) Inputs() []runtime.Input {
	return []runtime.Input{
		read.ConfigInput,
		{Namespace: network.NamespaceName, Type: network.LinkStatusType},
	}
}

// Outputs implements runtime.Controller.
func (*NetworkConfigController) Outputs() []runtime.Output {
	return []runtime.Output{
		{Type: network.LinkSpecType},
		{Type: network.AddressSpecType, Kind: runtime.OutputShared},
		{Type: network.RouteSpecType, Kind: runtime.OutputShared},
	}
}

// Run implements runtime.Controller.
func (c *NetworkConfigController) Run(ctx context.Context, r runtime.ControllerRuntime, _ *slog.Logger) error {
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

func (c *NetworkConfigController) reconcile(ctx context.Context, r runtime.ControllerRuntime) error {
	m, err := read.MachineConfig(ctx, r)
	if err != nil {
		return err
	}
	links, err := listTyped[network.LinkStatusSpec](ctx, r, network.LinkStatusType)
	if err != nil {
		return err
	}
	d := Derive(m, links, c.IP)
	tr := runtime.NewOutputTracker(r, network.NamespaceName, network.LinkSpecType, network.AddressSpecType, network.RouteSpecType)
	for _, l := range d.Links {
		if err := tr.Modify(ctx, network.NewLinkSpec(l.Name), setSpec(l)); err != nil {
			return fmt.Errorf("link spec %s: %w", l.Name, err)
		}
	}
	for _, a := range d.Addresses {
		if err := tr.Modify(ctx, network.NewAddressSpec(a.Origin, a.Link, a.Address), setSpec(a)); err != nil {
			return fmt.Errorf("address spec %s: %w", a.Address, err)
		}
	}
	for _, rt := range d.Routes {
		if err := tr.Modify(ctx, network.NewRouteSpec(rt), setSpec(rt)); err != nil {
			return fmt.Errorf("route spec %s: %w", rt.Destination, err)
		}
	}
	return tr.Cleanup(ctx)
}

// setSpec returns a Modify function that sets a typed resource's spec.
func setSpec[S any](spec S) func(resource.Resource) error {
	return func(res resource.Resource) error {
		t, ok := res.(*resource.Typed[S])
		if !ok {
			return fmt.Errorf("stored resource is %T", res)
		}
		*t.TypedSpec() = spec
		return nil
	}
}

// listTyped returns the specs of every resource of typ in the network
// namespace, sorted by ID.
func listTyped[S any](ctx context.Context, r runtime.Reader, typ string) ([]S, error) {
	items, err := r.List(ctx, network.NamespaceName, typ)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", typ, err)
	}
	out := make([]S, 0, len(items))
	for _, it := range items {
		t, ok := it.(*resource.Typed[S])
		if !ok {
			return nil, fmt.Errorf("list %s: stored resource is %T", typ, it)
		}
		if it.Metadata().Phase == resource.PhaseTearingDown {
			continue
		}
		out = append(out, *t.TypedSpec())
	}
	return out, nil
}
