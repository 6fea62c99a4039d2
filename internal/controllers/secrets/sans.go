package secrets

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// plan is what the API certificate should be, from the inputs.
type plan struct {
	// ca is the PEM OS CA certificate from machine.ca.
	ca string
	// commonName is the short hostname.
	commonName string
	// ips and dnsNames are the sorted, unique subject alternative names.
	ips, dnsNames []string
}

// subject returns the certificate subject of the plan.
func (p plan) subject() pki.Subject {
	s := pki.Subject{
		CommonName:   p.commonName,
		Organization: []string{constants.RoleImpersonator},
		DNSNames:     slices.Clone(p.dnsNames),
	}

	for _, ip := range p.ips {
		s.IPs = append(s.IPs, netip.MustParseAddr(ip))
	}

	return s
}

// newPlan computes the certificate the node needs: every node address,
// both loopbacks and the IPs of machine.certSANs as IP names; the other
// certSANs, the hostname, the FQDN and "localhost" as DNS names.
func newPlan(m *v1alpha1.Machine, host network.HostnameSpec, addresses []string) plan {
	ips := []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}

	for _, a := range addresses {
		if p, err := netip.ParsePrefix(a); err == nil {
			ips = append(ips, p.Addr().Unmap())
		}
	}

	dns := []string{"localhost", host.Hostname, host.FQDN}

	for _, san := range m.CertSANs {
		if ip, err := netip.ParseAddr(san); err == nil {
			ips = append(ips, ip.Unmap())
		} else if san != "" {
			dns = append(dns, strings.ToLower(strings.TrimSuffix(san, ".")))
		}
	}

	slices.SortFunc(ips, netip.Addr.Compare)
	ips = slices.Compact(ips)

	p := plan{commonName: host.Hostname, dnsNames: sortedUnique(dns)}
	if m.CA != nil {
		p.ca = string(m.CA.Crt)
	}

	for _, ip := range ips {
		p.ips = append(p.ips, ip.String())
	}

	return p
}

func sortedUnique(names []string) []string {
	out := slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s == "" })
	slices.Sort(out)

	return slices.Compact(out)
}
