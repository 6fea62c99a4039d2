package k8s

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"

	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
)

// Network settings the config may leave out.
const (
	// CNIFlannel is the CNI Plinth ships.
	CNIFlannel = "flannel"
	// CNINone leaves the pod network to the user.
	CNINone = "none"
	// APIServerPort is the port every kube-apiserver listens on.
	APIServerPort = 6443
)

// cluster is the part of cluster.* the control plane derives from, with
// every default filled in and every string parsed.
type cluster struct {
	// name is cluster.clusterName ("kubernetes" when empty).
	name string
	// dnsDomain is cluster.network.dnsDomain.
	dnsDomain string
	// podSubnets and serviceSubnets are the cluster's networks.
	podSubnets, serviceSubnets []netip.Prefix
	// endpoint is cluster.controlPlane.endpoint.
	endpoint *url.URL
	// cni is flannel or none.
	cni string
	// coreDNS is false when cluster.coreDNS.disabled.
	coreDNS bool
}

// newCluster reads and checks the settings of c.
func newCluster(c *v1alpha1.Cluster) (cluster, error) {
	if c == nil {
		return cluster{}, errors.New("the machine config has no cluster section")
	}

	out := cluster{name: c.ClusterName, dnsDomain: generate.DefaultDNSDomain, cni: CNIFlannel, coreDNS: true}
	if out.name == "" {
		out.name = "kubernetes"
	}

	pods, services := []string{generate.DefaultPodSubnet}, []string{generate.DefaultServiceSubnet}

	if n := c.Network; n != nil {
		if n.DNSDomain != "" {
			out.dnsDomain = n.DNSDomain
		}

		if len(n.PodSubnets) > 0 {
			pods = n.PodSubnets
		}

		if len(n.ServiceSubnets) > 0 {
			services = n.ServiceSubnets
		}

		if n.CNI != nil && n.CNI.Name != "" {
			out.cni = n.CNI.Name
		}
	}

	var err error
	if out.podSubnets, err = parsePrefixes("cluster.network.podSubnets", pods); err != nil {
		return cluster{}, err
	}

	if out.serviceSubnets, err = parsePrefixes("cluster.network.serviceSubnets", services); err != nil {
		return cluster{}, err
	}

	if c.CoreDNS != nil && c.CoreDNS.Disabled {
		out.coreDNS = false
	}

	if c.ControlPlane == nil || c.ControlPlane.Endpoint == "" {
		return cluster{}, errors.New("cluster.controlPlane.endpoint is not set")
	}

	out.endpoint, err = url.Parse(c.ControlPlane.Endpoint)
	if err != nil || out.endpoint.Hostname() == "" {
		return cluster{}, fmt.Errorf("cluster.controlPlane.endpoint %q is not a URL with a host", c.ControlPlane.Endpoint)
	}

	return out, nil
}

func parsePrefixes(field string, in []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))

	for i, s := range in {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}

		out = append(out, p.Masked())
	}

	return out, nil
}

// isClusterAddr reports whether a is a pod or service address: addresses
// of the node's CNI interfaces (cni0, flannel.1) are no node addresses.
func (c cluster) isClusterAddr(a netip.Addr) bool {
	for _, p := range append(slices.Clone(c.podSubnets), c.serviceSubnets...) {
		if p.Contains(a) {
			return true
		}
	}

	return false
}

// nodeAddrs returns the node's addresses (CIDR strings) without the pod
// and service ones, in their order.
func (c cluster) nodeAddrs(addresses []string) []netip.Addr {
	var out []netip.Addr

	for _, s := range addresses {
		if p, err := netip.ParsePrefix(s); err == nil && !c.isClusterAddr(p.Addr().Unmap()) {
			out = append(out, p.Addr().Unmap())
		}
	}

	return out
}

// nthAddr returns the n-th address of p (0 is the network address).
func nthAddr(p netip.Prefix, n int) netip.Addr {
	a := p.Masked().Addr()
	for range n {
		a = a.Next()
	}

	return a
}

// apiServiceIPs are the addresses of the "kubernetes" Service: the first
// address of each service subnet.
func (c cluster) apiServiceIPs() []netip.Addr {
	out := make([]netip.Addr, 0, len(c.serviceSubnets))
	for _, s := range c.serviceSubnets {
		out = append(out, nthAddr(s, 1))
	}

	return out
}

// dnsServiceIP is the address of the kube-dns Service: the tenth address of
// the first service subnet.
func (c cluster) dnsServiceIP() netip.Addr {
	return nthAddr(c.serviceSubnets[0], 10)
}

// joinPrefixes writes prefixes as a comma-separated flag value.
func joinPrefixes(ps []netip.Prefix) string {
	s := ""

	for i, p := range ps {
		if i > 0 {
			s += ","
		}

		s += p.String()
	}

	return s
}
