package network

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// noAddressIP carries the hostname in /etc/hosts while the node has no
// address, as Debian-like systems do.
const noAddressIP = "127.0.1.1"

// EtcHostsController writes <Root>/etc/hosts: the localhost lines, the
// hostname on the node's first address (127.0.1.1 while it has none) and
// machine.network.extraHostEntries. It waits for the Hostname resource.
type EtcHostsController struct {
	// Root is the file-system root /etc/hosts is written under.
	Root string
	// Mode selects how the file is written (see writeEtcFile).
	Mode validation.Mode
}

// Name implements runtime.Controller.
func (*EtcHostsController) Name() string { return "network.EtcHostsController" }

// Inputs implements runtime.Controller.
func (*EtcHostsController) Inputs() []runtime.Input {
	return []runtime.Input{
		read.ConfigInput,
		{Namespace: network.NamespaceName, Type: network.HostnameType, ID: network.HostnameID},
		{Namespace: network.NamespaceName, Type: network.NodeAddressesType, ID: network.NodeAddressesID},
	}
}

// Outputs implements runtime.Controller: the file is its only output.
func (*EtcHostsController) Outputs() []runtime.Output { return nil }

// Run implements runtime.Controller.
func (c *EtcHostsController) Run(ctx context.Context, r runtime.ControllerRuntime, _ *slog.Logger) error {
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

func (c *EtcHostsController) reconcile(ctx context.Context, r runtime.ControllerRuntime) error {
	host, err := read.Typed[network.HostnameSpec](ctx, r, network.NewHostname().Metadata().Ref())
	if err != nil || host == nil {
		return err
	}

	addrs, err := read.Typed[network.NodeAddressesSpec](ctx, r, network.NewNodeAddresses().Metadata().Ref())
	if err != nil {
		return err
	}

	m, err := read.MachineConfig(ctx, r)
	if err != nil {
		return err
	}

	var list []string
	if addrs != nil {
		list = addrs.TypedSpec().Addresses
	}

	content := RenderHosts(*host.TypedSpec(), list, extraHosts(m))
	if err := writeEtcFile(c.Mode, filepath.Join(c.Root, "etc", "hosts"), []byte(content)); err != nil {
		return fmt.Errorf("hosts: %w", err)
	}

	return nil
}

func extraHosts(m *v1alpha1.MachineConfig) []v1alpha1.HostEntry {
	if m == nil || m.Machine == nil || m.Machine.Network == nil {
		return nil
	}

	return m.Machine.Network.ExtraHostEntries
}

// RenderHosts returns the content of /etc/hosts.
func RenderHosts(host network.HostnameSpec, addresses []string, extra []v1alpha1.HostEntry) string {
	var b strings.Builder

	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")

	ip := noAddressIP
	if len(addresses) > 0 {
		if p, err := netip.ParsePrefix(addresses[0]); err == nil {
			ip = p.Addr().String()
		}
	}

	names := []string{host.FQDN}
	if host.Hostname != host.FQDN {
		names = append(names, host.Hostname)
	}

	fmt.Fprintf(&b, "%s\t%s\n", ip, strings.Join(names, " "))

	for _, e := range extra {
		if len(e.Aliases) > 0 {
			fmt.Fprintf(&b, "%s\t%s\n", e.IP, strings.Join(e.Aliases, " "))
		}
	}

	return b.String()
}
