package network

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// maxNameservers is how many name servers resolvers read (glibc's and
// musl's MAXNS); the rest would be ignored.
const maxNameservers = 3

// ResolvConfController writes <Root>/etc/resolv.conf atomically, and the
// Resolvers resource, on metal: the name servers of
// machine.network.nameservers; else those of the kernel's ip= argument;
// else those DHCP offered (leases in link order, without duplicates); else
// none. The search domain is the hostname's domain. It waits for the
// Hostname resource. In container mode it is not registered: the
// container runtime owns resolv.conf.
type ResolvConfController struct {
	// Root is the file-system root the file is written under.
	Root string
	// KernelNameservers are the DNS fields of the kernel's ip= argument.
	KernelNameservers []netip.Addr
}

// Name implements runtime.Controller.
func (*ResolvConfController) Name() string { return "network.ResolvConfController" }

// Inputs implements runtime.Controller.
func (*ResolvConfController) Inputs() []runtime.Input {
	return []runtime.Input{
		read.ConfigInput,
		{Namespace: network.NamespaceName, Type: network.HostnameType, ID: network.HostnameID},
		{Namespace: network.NamespaceName, Type: network.DHCPLeaseType},
	}
}

// Outputs implements runtime.Controller.
func (*ResolvConfController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: network.ResolversType}}
}

// Run implements runtime.Controller.
func (c *ResolvConfController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	var last []string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		}
		host, err := read.Typed[network.HostnameSpec](ctx, r, network.NewHostname().Metadata().Ref())
		if err != nil || host == nil {
			if err != nil {
				return err
			}
			continue
		}
		m, err := read.MachineConfig(ctx, r)
		if err != nil {
			return err
		}
		leases, err := listTyped[network.DHCPLeaseSpec](ctx, r, network.DHCPLeaseType)
		if err != nil {
			return err
		}
		var configured []string
		if m != nil && m.Machine != nil && m.Machine.Network != nil {
			configured = m.Machine.Network.Nameservers
		}
		spec := Resolvers(configured, addrStrings(c.KernelNameservers), leases, host.TypedSpec().Domainname)
		if err := runtime.ModifyTyped(ctx, r, network.NewResolvers(), func(res *network.Resolvers) error {
			*res.TypedSpec() = spec
			return nil
		}); err != nil {
			return fmt.Errorf("resolvers: %w", err)
		}
		if err := writeEtcFile(validation.ModeMetal, filepath.Join(c.Root, "etc", "resolv.conf"), []byte(RenderResolvConf(spec))); err != nil {
			return fmt.Errorf("resolv.conf: %w", err)
		}
		if !slices.Equal(last, spec.Servers) {
			logger.Info("name servers set", "servers", spec.Servers, "origin", spec.Origin)
			last = spec.Servers
		}
	}
}

// Resolvers picks the name servers by precedence (config, kernel
// argument, DHCP) and the search domain.
func Resolvers(configured, kernel []string, leases []network.DHCPLeaseSpec, domain string) network.ResolversSpec {
	spec := network.ResolversSpec{Servers: []string{}}
	switch {
	case len(configured) > 0:
		spec.Servers, spec.Origin = slices.Clone(configured), network.OriginConfig
	case len(kernel) > 0:
		spec.Servers, spec.Origin = slices.Clone(kernel), network.OriginCmdline
	default:
		for _, l := range leases {
			for _, s := range l.DNS {
				if !slices.Contains(spec.Servers, s) {
					spec.Servers = append(spec.Servers, s)
				}
			}
		}
		if len(spec.Servers) > 0 {
			spec.Origin = network.OriginDHCP
		}
	}
	if len(spec.Servers) > maxNameservers {
		spec.Servers = spec.Servers[:maxNameservers]
	}
	if domain != "" {
		spec.Search = []string{domain}
	}
	return spec
}

// RenderResolvConf returns the content of /etc/resolv.conf.
func RenderResolvConf(spec network.ResolversSpec) string {
	var b strings.Builder
	b.WriteString("# Written by machined from machine.network.nameservers, the kernel's ip= or DHCP.\n")
	for _, s := range spec.Servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(spec.Search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(spec.Search, " "))
	}
	return b.String()
}
