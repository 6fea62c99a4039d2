package k8s

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// KubeletServiceID is the id of kubelet's ServiceConfig (and service).
const KubeletServiceID = "kubelet"

// KubeletController runs kubelet on every configured node. From the
// machine config, the hostname and the node addresses it writes the
// KubeletConfiguration, the bootstrap kubeconfig (cluster.token, the
// cluster CA, cluster.controlPlane.endpoint) and the pods' resolv.conf,
// publishes the Kubelet resource and asks machined for the kubelet
// service (after containerd, once the preloaded images were imported).
//
//	no config ──config, hostname, node IP, images attempted──▶ files ──▶ ServiceConfig kubelet
//	    ▲                                      │ config/addresses change: files and hash
//	    └────────── config removed ────────────┘ change, kubelet restarts
//
// kubelet joins with TLS bootstrap: the token gets it a client
// certificate (system:node:<name>), written to KubeletKubeconfigPath and
// rotated by kubelet itself.
type KubeletController struct {
	// Root is the file-system root the files are written under.
	Root string
	// Mode is metal or container: container-mode nodes share the host's
	// disk, so disk-pressure eviction and image GC are relaxed.
	Mode validation.Mode
	// CgroupV1 reports whether the node's cgroups are v1 only; nil reads
	// the file system type of <Root>/sys/fs/cgroup.
	CgroupV1 func() bool
}

// Name implements runtime.Controller.
func (*KubeletController) Name() string { return "k8s.KubeletController" }

// Inputs implements runtime.Controller.
func (*KubeletController) Inputs() []runtime.Input {
	return []runtime.Input{
		read.ConfigInput,
		{Namespace: network.NamespaceName, Type: network.HostnameType, ID: network.HostnameID},
		{Namespace: network.NamespaceName, Type: network.NodeAddressesType, ID: network.NodeAddressesID},
		{Namespace: k8s.NamespaceName, Type: k8s.PreloadedImagesType, ID: k8s.PreloadedImagesID},
	}
}

// Outputs implements runtime.Controller.
func (*KubeletController) Outputs() []runtime.Output {
	return []runtime.Output{
		{Type: rtres.ServiceConfigType, Kind: runtime.OutputShared},
		{Type: k8s.KubeletType},
	}
}

// Run implements runtime.Controller.
func (c *KubeletController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
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

func (c *KubeletController) reconcile(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	m, err := read.MachineConfig(ctx, r)
	if err != nil {
		return err
	}
	svcs := runtime.NewOutputTracker(r, rtres.NamespaceName, rtres.ServiceConfigType)
	kubelets := runtime.NewOutputTracker(r, k8s.NamespaceName, k8s.KubeletType)
	if m == nil || m.Machine == nil || m.Cluster == nil {
		return cleanupAll(ctx, svcs, kubelets)
	}
	cluster, err := newNodeCluster(m.Cluster)
	if err != nil {
		logger.Error("kubelet not configured", "error", err)
		return nil
	}
	ready, prev, err := c.inputsReady(ctx, r)
	if err != nil || !ready {
		return err
	}
	host, err := read.Typed[network.HostnameSpec](ctx, r, network.NewHostname().Metadata().Ref())
	if err != nil || host == nil || host.TypedSpec().Hostname == "" {
		return err // wait for the hostname
	}
	addrs, err := read.Typed[network.NodeAddressesSpec](ctx, r, network.NewNodeAddresses().Metadata().Ref())
	if err != nil || addrs == nil {
		return err
	}
	var validSubnets []string
	if k := m.Machine.Kubelet; k != nil && k.NodeIP != nil {
		validSubnets = k.NodeIP.ValidSubnets
	}
	var previous []string
	if prev != nil {
		previous = prev.NodeIPs
	}
	ips, err := chooseNodeIPs(addrs.TypedSpec().Addresses, validSubnets, cluster, previous)
	if err != nil {
		logger.Warn("kubelet waits for a node IP", "error", err)
		return nil
	}

	spec, files, flags, err := c.plan(m.Machine, cluster, host.TypedSpec().Hostname, ips)
	if err != nil {
		logger.Error("kubelet not configured", "error", err)
		return nil
	}
	if err := writeNodeFiles(c.Root, files...); err != nil {
		return fmt.Errorf("kubelet: %w", err)
	}
	svc := rtres.ServiceConfigSpec{
		Args:        append([]string{KubeletBinary}, flags...),
		Env:         []string{servicePath},
		DependsOn:   []string{ContainerdServiceID},
		WaitFiles:   []string{KubernetesCACertPath},
		WaitURL:     bootstrapWait(cluster.endpoint),
		HealthCheck: &rtres.HealthCheck{URL: KubeletHealthzURL, IntervalSeconds: 5},
		ConfigHash:  spec.ConfigHash,
	}
	if err := svcs.Modify(ctx, rtres.NewServiceConfig(KubeletServiceID), func(res resource.Resource) error {
		*res.(*rtres.ServiceConfig).TypedSpec() = svc
		return nil
	}); err != nil {
		return fmt.Errorf("kubelet service config: %w", err)
	}
	if err := kubelets.Modify(ctx, k8s.NewKubelet(), func(res resource.Resource) error {
		*res.(*k8s.Kubelet).TypedSpec() = spec
		return nil
	}); err != nil {
		return fmt.Errorf("kubelet resource: %w", err)
	}
	return cleanupAll(ctx, svcs, kubelets)
}

// bootstrapWait holds the kubelet back until the API server accepts the
// bootstrap token and lets it list certificate requests (the token
// Secret and its RBAC are applied after the API server starts): started
// sooner, its certificate manager fails and backs off 2, 4, 8 s, which
// cost a fresh worker ~5 s to Ready. A node that has its client
// certificate starts at once.
func bootstrapWait(endpoint string) *rtres.WaitURL {
	return &rtres.WaitURL{
		URL:             strings.TrimSuffix(endpoint, "/") + "/apis/certificates.k8s.io/v1/certificatesigningrequests?limit=1",
		CAFile:          KubernetesCACertPath,
		BearerTokenFile: KubeletBootstrapTokenPath,
		UnlessFile:      KubeletCurrentCertPath,
	}
}

// inputsReady reports whether kubelet may be configured: it already is
// (the previous Kubelet spec is returned), or the preloaded images were
// attempted (the sandbox image is among them).
func (c *KubeletController) inputsReady(ctx context.Context, r runtime.Reader) (bool, *k8s.KubeletSpec, error) {
	prev, err := read.Typed[k8s.KubeletSpec](ctx, r, k8s.NewKubelet().Metadata().Ref())
	if err != nil {
		return false, nil, err
	}
	if prev != nil {
		return true, prev.TypedSpec(), nil
	}
	images, err := read.Typed[k8s.PreloadedImagesSpec](ctx, r, k8s.NewPreloadedImages().Metadata().Ref())
	if err != nil {
		return false, nil, err
	}
	return images != nil && images.TypedSpec().Complete, nil, nil
}

// plan computes the Kubelet spec, the files and the flags.
func (c *KubeletController) plan(mc *v1alpha1.Machine, cluster nodeCluster, hostname string, ips []netip.Addr) (k8s.KubeletSpec, []nodeFile, []string, error) {
	controlPlane := mc.Type == v1alpha1.TypeControlPlane
	var extraArgs map[string]string
	var extraConfig map[string]any
	if mc.Kubelet != nil {
		extraArgs, extraConfig = mc.Kubelet.ExtraArgs, mc.Kubelet.ExtraConfig
	}
	cfg, err := renderKubeletConfig(kubeletSettings{
		clusterDNS: cluster.clusterDNS(), clusterDomain: cluster.dnsDomain,
		cgroupV1: c.cgroupV1(), localCluster: c.Mode == validation.ModeContainer, extra: extraConfig,
	})
	if err != nil {
		return k8s.KubeletSpec{}, nil, nil, err
	}
	if len(cluster.ca) == 0 || cluster.token == "" {
		return k8s.KubeletSpec{}, nil, nil, fmt.Errorf("cluster.ca and cluster.token are required to join")
	}
	boot, err := nodeKubeconfig{cluster: cluster.name, server: cluster.endpoint, ca: cluster.ca,
		user: "kubelet-bootstrap", token: cluster.token}.render()
	if err != nil {
		return k8s.KubeletSpec{}, nil, nil, err
	}
	nodeResolv, _ := os.ReadFile(filepath.Join(c.Root, "/etc/resolv.conf"))
	files := []nodeFile{
		{Path: KubeletConfigPath, Data: cfg, Mode: 0o644},
		{Path: KubeletBootstrapKubeconfigPath, Data: boot, Mode: 0o600},
		{Path: KubeletBootstrapTokenPath, Data: []byte(cluster.token + "\n"), Mode: 0o600},
		{Path: KubeletResolvConfPath, Data: podResolvConf(nodeResolv, ips[0]), Mode: 0o644},
	}
	kubeletLabels, apiLabels := nodeLabels(mc.NodeLabels, controlPlane)
	taints, err := nodeTaints(mc.NodeTaints, controlPlane, cluster.allowSchedulingOnControlPlanes)
	if err != nil {
		return k8s.KubeletSpec{}, nil, nil, err
	}
	ipStrings := make([]string, len(ips))
	for i, a := range ips {
		ipStrings[i] = a.String()
	}
	base := map[string]string{
		"config":               KubeletConfigPath,
		"bootstrap-kubeconfig": KubeletBootstrapKubeconfigPath,
		"kubeconfig":           KubeletKubeconfigPath,
		"cert-dir":             KubeletCertDir,
		"hostname-override":    hostname,
		"node-ip":              strings.Join(ipStrings, ","),
	}
	if len(kubeletLabels) > 0 {
		base["node-labels"] = joinLabels(kubeletLabels)
	}
	if len(taints) > 0 {
		base["register-with-taints"] = strings.Join(taints, ",")
	}
	flags := kubeletFlags(base, extraArgs)
	all := make(map[string]string, len(kubeletLabels)+len(apiLabels))
	for k, v := range kubeletLabels {
		all[k] = v
	}
	for k, v := range apiLabels {
		all[k] = v
	}
	hashed := append(append([]nodeFile(nil), files...), nodeFile{Path: "flags", Data: []byte(strings.Join(flags, "\n"))})
	spec := k8s.KubeletSpec{
		NodeName: hostname, NodeIPs: ipStrings, Endpoint: cluster.endpoint, Kubeconfig: KubeletKubeconfigPath,
		Labels: all, Taints: taints, ConfigHash: hashNodeFiles(hashed...),
	}
	return spec, files, flags, nil
}

// cgroupV1 reports whether the node has cgroup v1 only.
func (c *KubeletController) cgroupV1() bool {
	if c.CgroupV1 != nil {
		return c.CgroupV1()
	}
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Join(c.Root, "/sys/fs/cgroup"), &st); err != nil {
		return false
	}
	return st.Type != unix.CGROUP2_SUPER_MAGIC
}

// cleanupAll runs every tracker's Cleanup.
func cleanupAll(ctx context.Context, trackers ...*runtime.OutputTracker) error {
	for _, tr := range trackers {
		if err := tr.Cleanup(ctx); err != nil {
			return err
		}
	}
	return nil
}
