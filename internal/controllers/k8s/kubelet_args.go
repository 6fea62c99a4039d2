package k8s

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// Labels and taints of control-plane nodes.
const (
	ControlPlaneRoleLabel = "node-role.kubernetes.io/control-plane"
	ControlPlaneTaint     = ControlPlaneRoleLabel + ":NoSchedule"
)

// chooseNodeIPs picks the kubelet's node IPs from the node's addresses
// (CIDR strings): at most one per IP family, never a pod or service
// address, within validSubnets when given ("!cidr" excludes). Without
// validSubnets only the first family found is used. A previous choice
// that is still present and valid is kept, so addresses appearing later
// (cni0, flannel.1, a second NIC) do not move the node.
func chooseNodeIPs(addrs []string, validSubnets []string, c nodeCluster, previous []string) ([]netip.Addr, error) {
	var include, exclude []netip.Prefix
	for i, s := range validSubnets {
		neg := strings.HasPrefix(s, "!")
		p, err := parseSubnet(strings.TrimPrefix(s, "!"))
		if err != nil {
			return nil, fmt.Errorf("machine.kubelet.nodeIP.validSubnets[%d]: %w", i, err)
		}
		if neg {
			exclude = append(exclude, p)
		} else {
			include = append(include, p)
		}
	}
	valid := func(a netip.Addr) bool {
		if !a.IsGlobalUnicast() || c.inClusterRanges(a) {
			return false
		}
		for _, p := range exclude {
			if p.Contains(a) {
				return false
			}
		}
		if len(include) == 0 {
			return true
		}
		for _, p := range include {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	var candidates []netip.Addr
	for _, s := range addrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			continue
		}
		if a := p.Addr(); valid(a) {
			candidates = append(candidates, a)
		}
	}
	var out []netip.Addr
	pick := func(is4 bool) {
		for _, prev := range previous {
			if a, err := netip.ParseAddr(prev); err == nil && a.Is4() == is4 && slices.Contains(candidates, a) {
				out = append(out, a)
				return
			}
		}
		for _, a := range candidates {
			if a.Is4() == is4 {
				out = append(out, a)
				return
			}
		}
	}
	first4 := len(candidates) == 0 || candidates[0].Is4()
	pick(first4)
	if len(include) > 0 {
		pick(!first4) // dual stack only when asked for with validSubnets
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no node address fits (addresses %v, validSubnets %v)", addrs, validSubnets)
	}
	return out, nil
}

// parseSubnet parses a CIDR or a bare address (as a /32 or /128).
func parseSubnet(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR or an address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// kubeletLabelAllowed reports whether kubelet may set a label on its own
// Node (--node-labels): labels under kubernetes.io or k8s.io are refused
// except the kubelet.kubernetes.io/ and node.kubernetes.io/ prefixes and a
// few well-known keys. The others (node-role.kubernetes.io/...) are set
// through the API by a control plane (NodeLabelsController).
func kubeletLabelAllowed(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return true
	}
	restricted := prefix == "kubernetes.io" || prefix == "k8s.io" ||
		strings.HasSuffix(prefix, ".kubernetes.io") || strings.HasSuffix(prefix, ".k8s.io")
	if !restricted {
		return true
	}
	if prefix == "kubelet.kubernetes.io" || prefix == "node.kubernetes.io" ||
		strings.HasSuffix(prefix, ".kubelet.kubernetes.io") || strings.HasSuffix(prefix, ".node.kubernetes.io") {
		return true
	}
	switch key {
	case "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os",
		"beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
		"failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
		"topology.kubernetes.io/region", "topology.kubernetes.io/zone":
		return true
	}
	return false
}

// nodeLabels returns the node's labels (machine.nodeLabels, plus the
// control-plane role on control planes), split into those kubelet
// registers itself and those only the API can set.
func nodeLabels(labels map[string]string, controlPlane bool) (kubelet, api map[string]string) {
	kubelet, api = map[string]string{}, map[string]string{}
	for k, v := range labels {
		if kubeletLabelAllowed(k) {
			kubelet[k] = v
		} else {
			api[k] = v
		}
	}
	if controlPlane {
		api[ControlPlaneRoleLabel] = ""
	}
	return kubelet, api
}

// nodeTaints returns the taints registered with the node
// ("key=value:Effect", sorted): machine.nodeTaints (key: "value:Effect")
// and the control-plane NoSchedule taint unless scheduling on control
// planes is allowed.
func nodeTaints(taints map[string]string, controlPlane, allowScheduling bool) ([]string, error) {
	var out []string
	for k, v := range taints {
		value, effect, ok := strings.Cut(v, ":")
		if !ok {
			value, effect = "", v
		}
		switch effect {
		case "NoSchedule", "PreferNoSchedule", "NoExecute":
		default:
			return nil, fmt.Errorf("machine.nodeTaints[%s]: %q has no effect (NoSchedule, PreferNoSchedule or NoExecute)", k, v)
		}
		if value == "" {
			out = append(out, k+":"+effect)
		} else {
			out = append(out, k+"="+value+":"+effect)
		}
	}
	if controlPlane && !allowScheduling && !slices.Contains(out, ControlPlaneTaint) {
		out = append(out, ControlPlaneTaint)
	}
	sort.Strings(out)
	return out, nil
}

// kubeletFlags returns kubelet's arguments: flags (name → value) with
// extraArgs on top, as sorted "--name=value".
func kubeletFlags(base, extra map[string]string) []string {
	all := map[string]string{}
	for k, v := range base {
		all[k] = v
	}
	for k, v := range extra {
		all[strings.TrimPrefix(k, "--")] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, "--"+k+"="+all[k])
	}
	return out
}

// joinLabels writes labels as a --node-labels value, sorted.
func joinLabels(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for k, v := range labels {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
