package controllers_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/controllers"
	"github.com/plinth-os/plinth/internal/sys/dhcp"
	"github.com/plinth-os/plinth/internal/sys/netlink"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// nopNetlink is a kernel without links.
type nopNetlink struct{}

func (nopNetlink) Links() ([]netlink.Link, error)                           { return nil, nil }
func (nopNetlink) SetUp(string) error                                       { return nil }
func (nopNetlink) SetMTU(string, int) error                                 { return nil }
func (nopNetlink) Addresses() ([]netlink.Address, error)                    { return nil, nil }
func (nopNetlink) ReplaceAddress(string, netip.Prefix, time.Duration) error { return nil }
func (nopNetlink) DeleteAddress(string, netip.Prefix) error                 { return nil }
func (nopNetlink) Routes() ([]netlink.Route, error)                         { return nil, nil }
func (nopNetlink) AddRoute(netlink.Route) error                             { return nil }
func (nopNetlink) DeleteRoute(netlink.Route) error                          { return nil }
func (nopNetlink) Watch(ctx context.Context, _ chan<- struct{}) error       { <-ctx.Done(); return nil }

func names(d controllers.Deps) []string {
	var out []string
	for _, c := range controllers.All(d) {
		out = append(out, c.Name())
	}
	return out
}

func TestMetalControllers(t *testing.T) {
	open := func(string) (dhcp.Client, error) { return nil, nil }
	metal := names(controllers.Deps{Mode: validation.ModeMetal, Netlink: nopNetlink{}, OpenDHCP: open})
	container := names(controllers.Deps{Mode: validation.ModeContainer, Netlink: nopNetlink{}, OpenDHCP: open})
	for _, name := range []string{
		"network.LinkStatusController", "network.NetworkConfigController", "network.LinkApplyController",
		"network.AddressApplyController", "network.RouteApplyController", "network.DHCPController",
		"network.ResolvConfController",
	} {
		if !slices.Contains(metal, name) {
			t.Errorf("metal lacks %s", name)
		}
		if slices.Contains(container, name) {
			t.Errorf("container mode runs %s: the container runtime owns the network", name)
		}
	}
	for _, name := range []string{"time.SyncController", "kernel.SysctlController"} {
		if !slices.Contains(metal, name) || !slices.Contains(container, name) {
			t.Errorf("%s is not in both modes", name)
		}
	}

	reg := resource.NewRegistry()
	// runtime/ types (ServiceConfig) are registered by machined itself.
	if err := reg.Register(append(controllers.Definitions(), rtres.Definitions...)...); err != nil {
		t.Fatal(err)
	}
	for _, c := range controllers.All(controllers.Deps{Mode: validation.ModeMetal, Netlink: nopNetlink{}, OpenDHCP: open}) {
		for _, out := range c.Outputs() {
			if _, err := reg.Lookup(out.Type); err != nil {
				t.Errorf("%s writes %s: %v", c.Name(), out.Type, err)
			}
		}
	}
	for _, name := range []string{"links", "linkspecs", "addressspecs", "routespecs", "leases", "dns", "time", "sysctls"} {
		if _, err := reg.Lookup(name); err != nil {
			t.Errorf("lookup %s: %v", name, err)
		}
	}
}
