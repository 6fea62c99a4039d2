package k8s

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"

	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
)

// nodeCluster is what the node components (kubelet, kube-proxy, CNI) use
// of cluster.*, with defaults filled in and strings parsed.
type nodeCluster struct {
	name           string
	endpoint       string
	dnsDomain      string
	podSubnets     []netip.Prefix
	serviceSubnets []netip.Prefix
	// cni is "flannel" (bridge + host-local on the node, flannel's VXLAN
	// between nodes) or "none".
	cni string
	// ca is the cluster CA certificate (PEM).
	ca []byte
	// token is the bootstrap token kubelets join with.
	token string
	// allowSchedulingOnControlPlanes leaves control planes untainted.
	allowSchedulingOnControlPlanes bool
	// proxy is cluster.proxy (never nil).
	proxy v1alpha1.Proxy
}

// newNodeCluster reads the settings of c.
func newNodeCluster(c *v1alpha1.Cluster) (nodeCluster, error) {
	if c == nil {
		return nodeCluster{}, errors.New("the machine config has no cluster section")
	}
	out := nodeCluster{
		name: c.ClusterName, dnsDomain: generate.DefaultDNSDomain, cni: "flannel", token: c.Token,
		allowSchedulingOnControlPlanes: c.AllowSchedulingOnControlPlanes,
	}
	if out.name == "" {
		out.name = "kubernetes"
	}
	if c.Proxy != nil {
		out.proxy = *c.Proxy
	}
	if c.CA != nil {
		out.ca = c.CA.Crt
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
	if out.podSubnets, err = nodePrefixes("cluster.network.podSubnets", pods); err != nil {
		return nodeCluster{}, err
	}
	if out.serviceSubnets, err = nodePrefixes("cluster.network.serviceSubnets", services); err != nil {
		return nodeCluster{}, err
	}
	if c.ControlPlane == nil || c.ControlPlane.Endpoint == "" {
		return nodeCluster{}, errors.New("cluster.controlPlane.endpoint is not set")
	}
	if u, err := url.Parse(c.ControlPlane.Endpoint); err != nil || u.Host == "" {
		return nodeCluster{}, fmt.Errorf("cluster.controlPlane.endpoint %q is not a URL with a host", c.ControlPlane.Endpoint)
	}
	out.endpoint = c.ControlPlane.Endpoint
	return out, nil
}

// clusterDNS is the kube-dns Service address: the tenth address of the
// first service subnet (10.96.0.10).
func (c nodeCluster) clusterDNS() netip.Addr {
	a := c.serviceSubnets[0].Masked().Addr()
	for range 10 {
		a = a.Next()
	}
	return a
}

// inClusterRanges reports whether a is a pod or service address (never a
// node IP: cni0 and flannel.1 carry pod addresses).
func (c nodeCluster) inClusterRanges(a netip.Addr) bool {
	for _, p := range append(append([]netip.Prefix(nil), c.podSubnets...), c.serviceSubnets...) {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func nodePrefixes(field string, in []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	for i, s := range in {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		out = append(out, p.Masked())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s is empty", field)
	}
	return out, nil
}
