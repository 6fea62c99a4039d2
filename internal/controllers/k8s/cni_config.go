package k8s

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
)

// CNI settings.
const (
	// CNIConfigPath is the network configuration CRI reads for every pod.
	CNIConfigPath = CNIConfDir + "/10-plinth.conflist"
	// CNINetworkName names the pod network.
	CNINetworkName = "plinth"
	// CNIBridge is the node's bridge the pods attach to.
	CNIBridge = "cni0"
	// vxlanOverhead is what flannel's VXLAN encapsulation takes off the
	// node link's MTU (IPv4 outer header).
	vxlanOverhead = 50
	// defaultLinkMTU is assumed when the node IP's link is not found.
	defaultLinkMTU = 1500
)

// LinkMTUFunc returns the MTU of the link holding addr.
type LinkMTUFunc func(addr netip.Addr) (int, error)

// CNIConfigController writes the node's CNI configuration once the node
// has its pod CIDRs: a bridge (cni0, the pods' gateway) with host-local
// addresses from the node's pod CIDRs, and portmap for hostPorts. Between
// nodes flannel (a DaemonSet of the preloaded image) routes the pod CIDRs
// over VXLAN, so the bridge's MTU leaves room for the encapsulation.
// cluster.network.cni.name none writes nothing (and removes the file).
//
//	no PodCIDRs ──PodCIDRs──▶ 10-plinth.conflist ──CRI: NetworkReady──▶ pods get addresses
type CNIConfigController struct {
	// Root is the file-system root the file is written under.
	Root string
	// LinkMTU returns a link's MTU; nil looks at the host's interfaces.
	LinkMTU LinkMTUFunc
}

// Name implements runtime.Controller.
func (*CNIConfigController) Name() string { return "k8s.CNIConfigController" }

// Inputs implements runtime.Controller.
func (*CNIConfigController) Inputs() []runtime.Input {
	return []runtime.Input{
		read.ConfigInput,
		{Namespace: k8s.NamespaceName, Type: k8s.PodCIDRsType, ID: k8s.PodCIDRsID},
		{Namespace: k8s.NamespaceName, Type: k8s.KubeletType, ID: k8s.KubeletID},
	}
}

// Outputs implements runtime.Controller: a file, no resource.
func (*CNIConfigController) Outputs() []runtime.Output { return nil }

// Run implements runtime.Controller.
func (c *CNIConfigController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		}
		if err := c.reconcile(ctx, r, logger); err != nil {
			return err
		}
	}
}

func (c *CNIConfigController) reconcile(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	m, err := read.MachineConfig(ctx, r)
	if err != nil {
		return err
	}
	if m == nil || m.Cluster == nil {
		return nil // a reset wipes /etc; nothing to do without a config
	}
	cluster, err := newNodeCluster(m.Cluster)
	if err != nil {
		return nil // the kubelet controller reports it
	}
	if cluster.cni != "flannel" {
		return removeNodeFiles(c.Root, CNIConfigPath)
	}
	cidrs, err := read.Typed[k8s.PodCIDRsSpec](ctx, r, k8s.NewPodCIDRs().Metadata().Ref())
	if err != nil || cidrs == nil || len(cidrs.TypedSpec().PodCIDRs) == 0 {
		return err
	}
	kl, err := read.Typed[k8s.KubeletSpec](ctx, r, k8s.NewKubelet().Metadata().Ref())
	if err != nil {
		return err
	}
	mtu := defaultLinkMTU
	if kl != nil && len(kl.TypedSpec().NodeIPs) > 0 {
		if a, err := netip.ParseAddr(kl.TypedSpec().NodeIPs[0]); err == nil {
			mtu = c.linkMTU(a, logger)
		}
	}
	data, err := renderCNIConfig(cidrs.TypedSpec().PodCIDRs, mtu-vxlanOverhead)
	if err != nil {
		return err
	}
	if err := writeNodeFiles(c.Root, nodeFile{Path: CNIConfigPath, Data: data, Mode: 0o644}); err != nil {
		return fmt.Errorf("cni: %w", err)
	}
	return nil
}

func (c *CNIConfigController) linkMTU(a netip.Addr, logger *slog.Logger) int {
	get := c.LinkMTU
	if get == nil {
		get = interfaceMTU
	}
	mtu, err := get(a)
	if err != nil || mtu <= vxlanOverhead {
		logger.Warn("node link MTU unknown, assuming 1500", "address", a, "error", err)
		return defaultLinkMTU
	}
	return mtu
}

// interfaceMTU finds the interface holding a.
func interfaceMTU(a netip.Addr) (int, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return 0, fmt.Errorf("interfaces: %w", err)
	}
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, ad := range addrs {
			if ipn, ok := ad.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.Unmap() == a {
					return ifc.MTU, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no interface holds %s", a)
}

// renderCNIConfig returns the conflist: bridge with host-local ranges (one
// per pod CIDR, with a default route per family), then portmap.
func renderCNIConfig(podCIDRs []string, mtu int) ([]byte, error) {
	var ranges [][]map[string]string
	var routes []map[string]string
	seen := map[bool]bool{}
	for _, s := range podCIDRs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("pod CIDR %q: %w", s, err)
		}
		ranges = append(ranges, []map[string]string{{"subnet": p.Masked().String()}})
		if !seen[p.Addr().Is4()] {
			seen[p.Addr().Is4()] = true
			dst := "0.0.0.0/0"
			if !p.Addr().Is4() {
				dst = "::/0"
			}
			routes = append(routes, map[string]string{"dst": dst})
		}
	}
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       CNINetworkName,
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      CNIBridge,
				"isGateway":   true,
				"ipMasq":      false,
				"hairpinMode": true,
				"mtu":         mtu,
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  ranges,
					"routes":  routes,
					"dataDir": "/var/lib/cni/networks",
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	out, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cni config: %w", err)
	}
	return append(out, '\n'), nil
}
