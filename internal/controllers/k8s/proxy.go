package k8s

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// kube-proxy's service id and node paths.
const (
	ProxyServiceID  = "kube-proxy"
	ProxyBinary     = "/usr/bin/kube-proxy"
	ProxyConfigPath = "/var/lib/kube-proxy/config.yaml"
	// ProxyHealthzURL is kube-proxy's health endpoint (it also serves
	// node health checks of Local traffic-policy services on :10256).
	ProxyHealthzURL = "http://127.0.0.1:10256/healthz"
	// KubeletCurrentCertPath is the kubelet's rotated client certificate
	// (and key), named by KubeletKubeconfigPath.
	KubeletCurrentCertPath = KubeletCertDir + "/kubelet-client-current.pem"
)

// ProxyController runs kube-proxy on every node unless
// cluster.proxy.disabled: it writes the KubeProxyConfiguration (mode from
// cluster.proxy.mode, iptables by default; clusterCIDR the pod subnets)
// and asks machined for the service.
//
// kube-proxy authenticates with the kubelet's client certificate
// (KubeletKubeconfigPath: system:node:<name>, in group system:nodes), so a
// worker needs no key of its own and no CA key; the bootstrap manifests
// bind the system:node-proxier ClusterRole to system:nodes. In container
// mode kube-proxy leaves the conntrack table size alone (a host-wide
// setting).
//
//	no config or disabled ──config, Kubelet──▶ config file ──▶ ServiceConfig kube-proxy
//	                                                           (waits for the kubelet's kubeconfig)
type ProxyController struct {
	// Root is the file-system root the file is written under.
	Root string
	// Mode is metal or container.
	Mode validation.Mode
}

// Name implements runtime.Controller.
func (*ProxyController) Name() string { return "k8s.ProxyController" }

// Inputs implements runtime.Controller.
func (*ProxyController) Inputs() []runtime.Input {
	return []runtime.Input{
		read.ConfigInput,
		{Namespace: k8s.NamespaceName, Type: k8s.KubeletType, ID: k8s.KubeletID},
	}
}

// Outputs implements runtime.Controller.
func (*ProxyController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: rtres.ServiceConfigType, Kind: runtime.OutputShared}}
}

// Run implements runtime.Controller.
func (c *ProxyController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
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

func (c *ProxyController) reconcile(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	m, err := read.MachineConfig(ctx, r)
	if err != nil {
		return err
	}
	tr := runtime.NewOutputTracker(r, rtres.NamespaceName, rtres.ServiceConfigType)
	if m == nil || m.Cluster == nil {
		return tr.Cleanup(ctx)
	}
	cluster, err := newNodeCluster(m.Cluster)
	if err != nil || cluster.proxy.Disabled {
		return tr.Cleanup(ctx)
	}
	kl, err := read.Typed[k8s.KubeletSpec](ctx, r, k8s.NewKubelet().Metadata().Ref())
	if err != nil {
		return err
	}
	if kl == nil {
		return tr.Cleanup(ctx)
	}
	mode := cluster.proxy.Mode
	if mode == "" {
		mode = "iptables"
	}
	cfg, err := renderProxyConfig(proxySettings{
		mode: mode, nodeName: kl.TypedSpec().NodeName, clusterCIDRs: joinCIDRs(cluster),
		kubeconfig: kl.TypedSpec().Kubeconfig, localCluster: c.Mode == validation.ModeContainer,
	})
	if err != nil {
		return err
	}
	file := nodeFile{Path: ProxyConfigPath, Data: cfg, Mode: 0o644}
	if err := writeNodeFiles(c.Root, file); err != nil {
		return fmt.Errorf("kube-proxy: %w", err)
	}
	args := []string{ProxyBinary, "--config=" + ProxyConfigPath}
	keys := make([]string, 0, len(cluster.proxy.ExtraArgs))
	for k := range cluster.proxy.ExtraArgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--"+strings.TrimPrefix(k, "--")+"="+cluster.proxy.ExtraArgs[k])
	}
	spec := rtres.ServiceConfigSpec{
		Args:        args,
		Env:         []string{servicePath},
		WaitFiles:   []string{kl.TypedSpec().Kubeconfig, KubeletCurrentCertPath},
		HealthCheck: &rtres.HealthCheck{URL: ProxyHealthzURL, IntervalSeconds: 10},
		ConfigHash:  hashNodeFiles(file),
	}
	err = tr.Modify(ctx, rtres.NewServiceConfig(ProxyServiceID), func(res resource.Resource) error {
		*res.(*rtres.ServiceConfig).TypedSpec() = spec
		return nil
	})
	if err != nil {
		return fmt.Errorf("kube-proxy service config: %w", err)
	}
	return tr.Cleanup(ctx)
}

// proxySettings decide the KubeProxyConfiguration.
type proxySettings struct {
	mode, nodeName, clusterCIDRs, kubeconfig string
	// localCluster keeps kube-proxy off host-wide conntrack settings.
	localCluster bool
}

// renderProxyConfig returns the KubeProxyConfiguration YAML.
func renderProxyConfig(s proxySettings) ([]byte, error) {
	cfg := map[string]any{
		"apiVersion":       "kubeproxy.config.k8s.io/v1alpha1",
		"kind":             "KubeProxyConfiguration",
		"clientConnection": map[string]any{"kubeconfig": s.kubeconfig},
		"mode":             s.mode,
		"clusterCIDR":      s.clusterCIDRs,
		"hostnameOverride": s.nodeName,
	}
	if s.localCluster {
		// nf_conntrack_max is one table for the whole host: leave it be.
		cfg["conntrack"] = map[string]any{"maxPerCore": 0}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube-proxy config: %w", err)
	}
	return append([]byte("# Written by Plinth (machined). Changes are overwritten.\n"), out...), nil
}

// joinCIDRs writes the pod subnets as kube-proxy's clusterCIDR.
func joinCIDRs(c nodeCluster) string {
	parts := make([]string, len(c.podSubnets))
	for i, p := range c.podSubnets {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}
