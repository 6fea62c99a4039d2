package etcd

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
)

// Paths and ports of the etcd member.
const (
	// Program is etcd's path on the node.
	Program = "/usr/bin/etcd"
	// DataDir is etcd's data directory; DataDir/member exists once the
	// member has started once.
	DataDir = "/var/lib/etcd"
	// ClientPort and PeerPort are etcd's ports.
	ClientPort = 2379
	PeerPort   = 2380
	// MetricsURL serves /metrics and /health without TLS, on loopback.
	MetricsURL = "http://127.0.0.1:2381"
	// LocalClientURL is the loopback client URL kube-apiserver and machined use.
	LocalClientURL = "https://127.0.0.1:2379"
)

// Cluster states of a starting member.
const (
	stateNew      = "new"
	stateExisting = "existing"
)

// initialCluster is how a member without data starts: the member list it
// joins (name=peerURL, ...) and whether the cluster is new or existing.
// It is empty for a member that has data: etcd then ignores both flags.
type initialCluster struct {
	members string
	state   string
}

// argsInput is what etcd's command line is derived from.
type argsInput struct {
	name      string
	ip        netip.Addr
	initial   initialCluster
	extraArgs map[string]string
}

// httpsURL returns the https URL of ip and port.
func httpsURL(ip netip.Addr, port int) string {
	return "https://" + net.JoinHostPort(ip.String(), fmt.Sprint(port))
}

// peerURL is the member's peer URL.
func (in argsInput) peerURL() string { return httpsURL(in.ip, PeerPort) }

// etcdArgs is etcd's command line: the member's name, data, URLs and TLS
// files, how it starts, then cluster.etcd.extraArgs, which replace flags of
// the same name and add the others in name order.
func etcdArgs(in argsInput) []string {
	flags := [][2]string{
		{"name", in.name},
		{"data-dir", DataDir},
		{"listen-client-urls", httpsURL(in.ip, ClientPort) + "," + LocalClientURL},
		{"advertise-client-urls", httpsURL(in.ip, ClientPort)},
		{"listen-peer-urls", in.peerURL()},
		{"initial-advertise-peer-urls", in.peerURL()},
		{"listen-metrics-urls", MetricsURL},
		{"cert-file", ServerCertPath},
		{"key-file", ServerKeyPath},
		{"trusted-ca-file", CACertPath},
		{"client-cert-auth", "true"},
		{"peer-cert-file", PeerCertPath},
		{"peer-key-file", PeerKeyPath},
		{"peer-trusted-ca-file", CACertPath},
		{"peer-client-cert-auth", "true"},
	}

	if in.initial.members != "" {
		flags = append(flags,
			[2]string{"initial-cluster", in.initial.members},
			[2]string{"initial-cluster-state", in.initial.state})
	}

	return append([]string{Program}, mergeFlags(flags, in.extraArgs)...)
}

// mergeFlags renders flags as --name=value, replacing the values of flags
// that extra names and appending the other extra flags sorted by name.
func mergeFlags(flags [][2]string, extra map[string]string) []string {
	out := make([]string, 0, len(flags)+len(extra))
	seen := map[string]bool{}

	for _, f := range flags {
		v := f[1]
		if e, ok := extra[f[0]]; ok {
			v = e
		}

		seen[f[0]] = true
		out = append(out, "--"+f[0]+"="+v)
	}

	for _, k := range slices.Sorted(maps.Keys(extra)) {
		if !seen[k] {
			out = append(out, "--"+k+"="+extra[k])
		}
	}

	return out
}

// advertisedIP picks the address the member advertises: the first node
// address in one of subnets and in none of the "!"-prefixed ones; without
// subnets, the first address.
func advertisedIP(addresses, subnets []string) (netip.Addr, error) {
	var include, exclude []netip.Prefix

	for _, s := range subnets {
		neg := strings.HasPrefix(s, "!")

		p, err := netip.ParsePrefix(strings.TrimPrefix(s, "!"))
		if err != nil {
			return netip.Addr{}, fmt.Errorf("cluster.etcd.advertisedSubnets: %w", err)
		}

		if neg {
			exclude = append(exclude, p)
		} else {
			include = append(include, p)
		}
	}

	for _, a := range addresses {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			continue
		}

		ip := p.Addr().Unmap()
		if (len(include) == 0 || containsAny(include, ip)) && !containsAny(exclude, ip) {
			return ip, nil
		}
	}

	if len(subnets) > 0 {
		return netip.Addr{}, fmt.Errorf("no node address in cluster.etcd.advertisedSubnets %v", subnets)
	}

	return netip.Addr{}, errors.New("the node has no address yet")
}

func containsAny(ps []netip.Prefix, ip netip.Addr) bool {
	return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// memberList renders an initial cluster: name=peerURL pairs in member order,
// members without a name (added, not started) taking self's name when they
// have self's peer URL.
func memberList(members []member, selfName, selfPeerURL string) string {
	parts := make([]string, 0, len(members))

	for _, m := range members {
		name := m.Name
		if slices.Contains(m.PeerURLs, selfPeerURL) {
			name = selfName
		}

		if name == "" {
			continue // another member that has not started: etcd refuses nameless entries
		}

		for _, u := range m.PeerURLs {
			parts = append(parts, name+"="+u)
		}
	}

	return strings.Join(parts, ",")
}

// clusterRanges are the pod and service subnets of the cluster (with their
// defaults): addresses in them belong to CNI interfaces, not to the node.
func clusterRanges(c *v1alpha1.Cluster) []netip.Prefix {
	pods, services := []string{generate.DefaultPodSubnet}, []string{generate.DefaultServiceSubnet}

	if c != nil && c.Network != nil {
		if len(c.Network.PodSubnets) > 0 {
			pods = c.Network.PodSubnets
		}

		if len(c.Network.ServiceSubnets) > 0 {
			services = c.Network.ServiceSubnets
		}
	}

	var out []netip.Prefix

	for _, s := range append(slices.Clone(pods), services...) {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}

	return out
}

// nodeAddresses drops the addresses (CIDR strings) inside ranges.
func nodeAddresses(addresses []string, ranges []netip.Prefix) []string {
	return slices.DeleteFunc(slices.Clone(addresses), func(s string) bool {
		p, err := netip.ParsePrefix(s)

		return err == nil && containsAny(ranges, p.Addr().Unmap())
	})
}
