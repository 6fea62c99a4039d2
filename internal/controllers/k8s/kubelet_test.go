package k8s

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// nodeTestCluster is a parsed default cluster.
func nodeTestCluster(t *testing.T) nodeCluster {
	t.Helper()
	c, err := newNodeCluster(&v1alpha1.Cluster{ControlPlane: &v1alpha1.ControlPlane{Endpoint: "https://10.5.0.2:6443"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChooseNodeIPs(t *testing.T) {
	c := nodeTestCluster(t)
	addrs := []string{"10.244.0.1/24", "10.5.0.3/24", "172.17.0.5/16", "fd00::3/64"}
	for _, tc := range []struct {
		name     string
		valid    []string
		previous []string
		want     string
	}{
		{"first v4, never a pod address", nil, nil, "10.5.0.3"},
		{"previous kept", nil, []string{"172.17.0.5"}, "172.17.0.5"},
		{"previous gone", nil, []string{"10.9.9.9"}, "10.5.0.3"},
		{"valid subnet", []string{"172.16.0.0/12"}, nil, "172.17.0.5"},
		{"excluded", []string{"0.0.0.0/0", "!10.5.0.3"}, nil, "172.17.0.5"},
		{"dual stack", []string{"10.5.0.0/24", "fd00::/8"}, nil, "10.5.0.3,fd00::3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ips, err := chooseNodeIPs(addrs, tc.valid, c, tc.previous)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range ips {
				got = append(got, a.String())
			}
			if strings.Join(got, ",") != tc.want {
				t.Fatalf("got %v, want %s", got, tc.want)
			}
		})
	}
	if _, err := chooseNodeIPs(addrs, []string{"192.168.0.0/16"}, c, nil); err == nil {
		t.Fatal("no fitting address accepted")
	}
	if _, err := chooseNodeIPs(addrs, []string{"bogus"}, c, nil); err == nil {
		t.Fatal("bad subnet accepted")
	}
}

func TestNodeLabelsAndTaints(t *testing.T) {
	kubelet, api := nodeLabels(map[string]string{
		"team": "a", "node.kubernetes.io/pool": "x", "node-role.kubernetes.io/infra": "", "topology.kubernetes.io/zone": "z",
	}, true)
	if len(kubelet) != 3 || kubelet["team"] != "a" || kubelet["topology.kubernetes.io/zone"] != "z" {
		t.Fatalf("kubelet labels %v", kubelet)
	}
	if _, ok := api[ControlPlaneRoleLabel]; !ok || len(api) != 2 {
		t.Fatalf("api labels %v", api)
	}
	taints, err := nodeTaints(map[string]string{"dedicated": "gpu:NoExecute", "spot": "NoSchedule"}, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dedicated=gpu:NoExecute", ControlPlaneTaint, "spot:NoSchedule"}; !slices.Equal(taints, want) {
		t.Fatalf("taints %v, want %v", taints, want)
	}
	if taints, _ := nodeTaints(nil, true, true); len(taints) != 0 {
		t.Fatalf("allowSchedulingOnControlPlanes: %v", taints)
	}
	if _, err := nodeTaints(map[string]string{"x": "y:Sometimes"}, false, false); err == nil {
		t.Fatal("bad effect accepted")
	}
}

func TestPodResolvConf(t *testing.T) {
	got := string(podResolvConf([]byte("nameserver 127.0.0.11\nsearch example.com\noptions ndots:0\n"), netip.MustParseAddr("10.5.0.3")))
	if strings.Contains(got, "127.0.0.11") || !strings.Contains(got, "nameserver 10.5.0.3") || !strings.Contains(got, "search example.com") {
		t.Fatalf("got:\n%s", got)
	}
	got = string(podResolvConf([]byte("nameserver 1.1.1.1\nnameserver ::1\n"), netip.MustParseAddr("10.5.0.3")))
	if !strings.Contains(got, "nameserver 1.1.1.1") || strings.Contains(got, "10.5.0.3") || strings.Contains(got, "::1") {
		t.Fatalf("got:\n%s", got)
	}
}

func TestKubeletConfigMerge(t *testing.T) {
	out, err := renderKubeletConfig(kubeletSettings{
		clusterDNS: netip.MustParseAddr("10.96.0.10"), clusterDomain: "cluster.local", cgroupV1: true,
		extra: map[string]any{"maxPods": 50, "authentication": map[string]any{"webhook": map[string]any{"cacheTTL": "1m0s"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	auth := cfg["authentication"].(map[string]any)
	if auth["webhook"].(map[string]any)["cacheTTL"] != "1m0s" || auth["webhook"].(map[string]any)["enabled"] != true {
		t.Fatalf("authentication %v", auth)
	}
	if auth["x509"].(map[string]any)["clientCAFile"] != KubernetesCACertPath || cfg["maxPods"] != 50 {
		t.Fatalf("config %v", cfg)
	}
	if cfg["failCgroupV1"] != false || cfg["cgroupDriver"] != "cgroupfs" || cfg["protectKernelDefaults"] != true {
		t.Fatalf("config %v", cfg)
	}
	if _, ok := cfg["evictionHard"]; ok {
		t.Fatal("evictionHard relaxed outside container mode")
	}
}

func TestKubeletController(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/resolv.conf"), []byte("nameserver 127.0.0.11\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := ctest.New(t, &KubeletController{Root: root, Mode: validation.ModeContainer, CgroupV1: func() bool { return true }})
	h.Start(t)
	ctx := context.Background()

	ca := ctest.NewOSCA(t, nil)
	m := ctest.MachineConfig(v1alpha1.TypeControlPlane, nil)
	m.Cluster.CA = &pki.CertAndKey{Crt: ca.Crt}
	m.Cluster.Token = "abcdef.0123456789abcdef"
	m.Machine.NodeLabels = map[string]string{"team": "a"}
	m.Machine.Kubelet = &v1alpha1.Kubelet{ExtraArgs: map[string]string{"v": "2"}}
	ctest.SetConfig(t, h.State, m)
	writeNet := func(addrs ...string) {
		t.Helper()
		if err := runtime.ModifyTyped(ctx, h.State, network.NewHostname(), func(r *network.Hostname) error {
			r.TypedSpec().Hostname = "cp-1"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := runtime.ModifyTyped(ctx, h.State, network.NewNodeAddresses(), func(r *network.NodeAddresses) error {
			r.TypedSpec().Addresses = addrs
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	writeNet("10.5.0.2/24")

	// Nothing before the preloaded images were attempted.
	if err := runtime.ModifyTyped(ctx, h.State, k8s.NewPreloadedImages(), func(r *k8s.PreloadedImages) error {
		r.TypedSpec().Complete = false
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if nodeServiceConfig(t, h, KubeletServiceID) != nil {
		t.Fatal("kubelet asked for before images were imported")
	}
	if err := runtime.ModifyTyped(ctx, h.State, k8s.NewPreloadedImages(), func(r *k8s.PreloadedImages) error {
		r.TypedSpec().Complete = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctest.Eventually(t, "kubelet service config", func() bool { return nodeServiceConfig(t, h, KubeletServiceID) != nil })

	sc := nodeServiceConfig(t, h, KubeletServiceID).TypedSpec()
	args := strings.Join(sc.Args, " ")
	for _, want := range []string{"--node-ip=10.5.0.2", "--hostname-override=cp-1", "--node-labels=team=a",
		"--register-with-taints=" + ControlPlaneTaint, "--v=2", "--bootstrap-kubeconfig=" + KubeletBootstrapKubeconfigPath} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "node-role") && strings.Contains(args, "--node-labels=node-role") {
		t.Errorf("role label passed to kubelet: %s", args)
	}
	if !slices.Equal(sc.DependsOn, []string{ContainerdServiceID}) || sc.HealthCheck.URL != KubeletHealthzURL {
		t.Fatalf("spec %+v", sc)
	}
	cfg := readNodeFile(t, root, KubeletConfigPath)
	for _, want := range []string{"clusterDNS:\n    - 10.96.0.10", "failCgroupV1: false", "nodefs.available: 0%"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	boot := readNodeFile(t, root, KubeletBootstrapKubeconfigPath)
	if !strings.Contains(boot, "token: abcdef.0123456789abcdef") || !strings.Contains(boot, "server: https://127.0.0.1:6443") {
		t.Errorf("bootstrap kubeconfig:\n%s", boot)
	}
	if got := readNodeFile(t, root, KubeletResolvConfPath); !strings.Contains(got, "nameserver 10.5.0.2") {
		t.Errorf("resolv.conf:\n%s", got)
	}
	kl := ctest.Get[k8s.KubeletSpec](t, h.State, k8s.NamespaceName, k8s.KubeletType, k8s.KubeletID).TypedSpec()
	if _, ok := kl.Labels[ControlPlaneRoleLabel]; !ok || kl.NodeName != "cp-1" {
		t.Fatalf("kubelet spec %+v", kl)
	}

	// cni0 appearing later does not move the node IP.
	hash := sc.ConfigHash
	writeNet("10.244.0.1/24", "10.5.0.2/24", "10.5.0.9/24")
	ctest.Eventually(t, "node ip kept", func() bool {
		kl := ctest.Get[k8s.KubeletSpec](t, h.State, k8s.NamespaceName, k8s.KubeletType, k8s.KubeletID).TypedSpec()
		return slices.Equal(kl.NodeIPs, []string{"10.5.0.2"})
	})
	if got := nodeServiceConfig(t, h, KubeletServiceID).TypedSpec().ConfigHash; got != hash {
		t.Fatal("kubelet restarted for an unrelated address")
	}

	ctest.DestroyConfig(t, h.State)
	ctest.Eventually(t, "kubelet removed", func() bool {
		return nodeServiceConfig(t, h, KubeletServiceID) == nil &&
			ctest.Get[k8s.KubeletSpec](t, h.State, k8s.NamespaceName, k8s.KubeletType, k8s.KubeletID) == nil
	})
}
