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

// defaultPrefix starts every default hostname.
const defaultPrefix = "plinth"

// machineIDChars is how much of the machine id a default hostname takes.
const machineIDChars = 6

// HostnameController decides the node's hostname and applies it:
// machine.network.hostname when set; else the hostname of the kernel's ip=
// argument; else the host name a DHCP server offered (with its domain,
// from the first link by name that has one); else "plinth-" and the first six
// characters of the machine id; else, when machine.features.stableHostname
// is false, "plinth-" and the first address with dashes ("plinth-10-5-0-2").
// Without a config the default applies, so a node in maintenance mode has a
// name too.
//
// It writes the Hostname resource and <Root>/etc/hostname, and calls
// SetHostname once for each new hostname.
type HostnameController struct {
	// Root is the file-system root the /etc files are written under.
	Root string
	// Mode selects how /etc files are written (see writeEtcFile).
	Mode validation.Mode
	// MachineID is the stable id the default hostname is made from.
	MachineID string
	// SetHostname sets the kernel hostname; nil leaves the kernel alone.
	SetHostname func(name string) error
	// KernelHostname is the hostname field of the kernel's ip= argument.
	KernelHostname string
}

// Name implements runtime.Controller.
func (*HostnameController) Name() string { return "network.HostnameController" }

// Inputs implements runtime.Controller.
func (*HostnameController) Inputs() []runtime.Input {
	return []runtime.Input{
		read.ConfigInput,
		{Namespace: network.NamespaceName, Type: network.NodeAddressesType, ID: network.NodeAddressesID},
		{Namespace: network.NamespaceName, Type: network.DHCPLeaseType},
	}
}

// Outputs implements runtime.Controller.
func (*HostnameController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: network.HostnameType}}
}

// Run implements runtime.Controller.
func (c *HostnameController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	applied := "" // the hostname last given to SetHostname by this run

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		}

		spec, err := c.desired(ctx, r)
		if err != nil {
			return err
		}

		if err := c.apply(ctx, r, spec); err != nil {
			return err
		}

		if c.SetHostname != nil && spec.Hostname != applied {
			if err := c.SetHostname(spec.Hostname); err != nil {
				return fmt.Errorf("set hostname %q: %w", spec.Hostname, err)
			}

			applied = spec.Hostname
			logger.Info("hostname set", "hostname", spec.Hostname)
		}
	}
}

// apply writes the resource and /etc/hostname.
func (c *HostnameController) apply(ctx context.Context, r runtime.ControllerRuntime, spec network.HostnameSpec) error {
	err := runtime.ModifyTyped(ctx, r, network.NewHostname(), func(h *network.Hostname) error {
		*h.TypedSpec() = spec

		return nil
	})
	if err != nil {
		return fmt.Errorf("hostname: %w", err)
	}

	return writeEtcFile(c.Mode, filepath.Join(c.Root, "etc", "hostname"), []byte(spec.Hostname+"\n"))
}

// desired computes the hostname from the config and the addresses.
func (c *HostnameController) desired(ctx context.Context, r runtime.ControllerRuntime) (network.HostnameSpec, error) {
	m, err := read.MachineConfig(ctx, r)
	if err != nil {
		return network.HostnameSpec{}, err
	}

	if name := configuredHostname(m); name != "" {
		return SplitHostname(name), nil
	}

	if name := strings.ToLower(strings.TrimSuffix(c.KernelHostname, ".")); name != "" {
		return SplitHostname(name), nil
	}

	leases, err := listTyped[network.DHCPLeaseSpec](ctx, r, network.DHCPLeaseType)
	if err != nil {
		return network.HostnameSpec{}, err
	}

	if name := DHCPHostname(leases); name != "" {
		return SplitHostname(name), nil
	}

	if m != nil && m.Machine != nil && m.Machine.Features != nil &&
		m.Machine.Features.StableHostname != nil && !*m.Machine.Features.StableHostname {
		addrs, err := read.Typed[network.NodeAddressesSpec](ctx, r, network.NewNodeAddresses().Metadata().Ref())
		if err != nil {
			return network.HostnameSpec{}, err
		}

		if name := addressHostname(addrs); name != "" {
			return SplitHostname(name), nil
		}
	}

	return SplitHostname(DefaultHostname(c.MachineID)), nil
}

func configuredHostname(m *v1alpha1.MachineConfig) string {
	if m == nil || m.Machine == nil || m.Machine.Network == nil {
		return ""
	}

	return strings.ToLower(strings.TrimSuffix(m.Machine.Network.Hostname, "."))
}

// addressHostname names the node after its first address, or returns "".
func addressHostname(addrs *network.NodeAddresses) string {
	if addrs == nil || len(addrs.TypedSpec().Addresses) == 0 {
		return ""
	}

	p, err := netip.ParsePrefix(addrs.TypedSpec().Addresses[0])
	if err != nil {
		return ""
	}

	ip := strings.NewReplacer(".", "-", ":", "-").Replace(p.Addr().StringExpanded())

	return defaultPrefix + "-" + ip
}

// DHCPHostname returns the host name of the first lease that has one,
// qualified with the lease's domain unless it is qualified already; "" when
// no lease names the host.
func DHCPHostname(leases []network.DHCPLeaseSpec) string {
	for _, l := range leases {
		if !validHostname(l.Hostname) {
			continue
		}

		if validHostname(l.Domain) && !strings.Contains(l.Hostname, ".") {
			return l.Hostname + "." + l.Domain
		}

		return l.Hostname
	}

	return ""
}

// validHostname reports whether name is made of DNS labels: 1 to 63 of
// a-z, 0-9 and '-', not starting or ending with '-'.
func validHostname(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}

	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}

		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}

	return true
}

// DefaultHostname returns "plinth-" and the first six letters or digits of
// machineID in lowercase, or "plinth" when the id has none.
func DefaultHostname(machineID string) string {
	var b strings.Builder

	for _, r := range strings.ToLower(machineID) {
		if b.Len() == machineIDChars {
			break
		}

		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}

	if b.Len() == 0 {
		return defaultPrefix
	}

	return defaultPrefix + "-" + b.String()
}

// SplitHostname splits a (possibly fully qualified) name into the spec.
func SplitHostname(name string) network.HostnameSpec {
	host, domain, _ := strings.Cut(name, ".")

	return network.HostnameSpec{Hostname: host, Domainname: domain, FQDN: name}
}
