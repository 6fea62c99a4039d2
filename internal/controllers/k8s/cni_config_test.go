package k8s

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
)

// setKubelet writes the Kubelet resource, as KubeletController would.
func setKubelet(t *testing.T, st runtime.State, spec k8s.KubeletSpec) {
	t.Helper()
	err := runtime.ModifyTyped(context.Background(), st, k8s.NewKubelet(), func(r *k8s.Kubelet) error {
		*r.TypedSpec() = spec
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPodCIDRController(t *testing.T) {
	var mu sync.Mutex
	cidrs := []string(nil)
	calls := 0
	get := func(_ context.Context, _, kubeconfig, name string) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if kubeconfig != KubeletKubeconfigPath || name != "w-1" {
			return nil, errors.New("wrong node or kubeconfig")
		}
		return cidrs, nil
	}
	h := ctest.New(t, &PodCIDRController{Get: get, PollInterval: 5 * time.Millisecond, RecheckInterval: 5 * time.Millisecond})
	h.Start(t)
	setKubelet(t, h.State, k8s.KubeletSpec{NodeName: "w-1", Kubeconfig: KubeletKubeconfigPath})
	ctest.Eventually(t, "polled", func() bool { mu.Lock(); defer mu.Unlock(); return calls > 2 })
	if ctest.Get[k8s.PodCIDRsSpec](t, h.State, k8s.NamespaceName, k8s.PodCIDRsType, k8s.PodCIDRsID) != nil {
		t.Fatal("published without CIDRs")
	}
	mu.Lock()
	cidrs = []string{"10.244.1.0/24"}
	mu.Unlock()
	ctest.Eventually(t, "pod CIDRs", func() bool {
		r := ctest.Get[k8s.PodCIDRsSpec](t, h.State, k8s.NamespaceName, k8s.PodCIDRsType, k8s.PodCIDRsID)
		return r != nil && r.TypedSpec().PodCIDRs[0] == "10.244.1.0/24" && r.TypedSpec().NodeName == "w-1"
	})
	// An unreachable API keeps what was published.
	mu.Lock()
	cidrs = nil
	mu.Unlock()
	time.Sleep(30 * time.Millisecond)
	if ctest.Get[k8s.PodCIDRsSpec](t, h.State, k8s.NamespaceName, k8s.PodCIDRsType, k8s.PodCIDRsID) == nil {
		t.Fatal("pod CIDRs dropped on a failed read")
	}
}

func TestCNIConfigController(t *testing.T) {
	root := t.TempDir()
	h := ctest.New(t, &CNIConfigController{Root: root, LinkMTU: func(netip.Addr) (int, error) { return 1500, nil }})
	h.Start(t)
	ctest.SetConfig(t, h.State, ctest.MachineConfig(v1alpha1.TypeWorker, nil))
	setKubelet(t, h.State, k8s.KubeletSpec{NodeName: "w-1", NodeIPs: []string{"10.5.0.3"}})
	err := runtime.ModifyTyped(context.Background(), h.State, k8s.NewPodCIDRs(), func(r *k8s.PodCIDRs) error {
		r.TypedSpec().NodeName, r.TypedSpec().PodCIDRs = "w-1", []string{"10.244.1.0/24"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, CNIConfigPath)
	ctest.Eventually(t, "conflist", func() bool { _, err := os.Stat(p); return err == nil })
	var conf struct {
		Name    string           `json:"name"`
		Plugins []map[string]any `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(readNodeFile(t, root, CNIConfigPath)), &conf); err != nil {
		t.Fatal(err)
	}
	bridge := conf.Plugins[0]
	if conf.Name != CNINetworkName || bridge["type"] != "bridge" || bridge["ipMasq"] != false || bridge["mtu"] != float64(1450) {
		t.Fatalf("conflist %+v", conf)
	}
	if !strings.Contains(readNodeFile(t, root, CNIConfigPath), `"subnet": "10.244.1.0/24"`) || conf.Plugins[1]["type"] != "portmap" {
		t.Fatalf("conflist %+v", conf)
	}

	// cni none: the file goes away.
	m := ctest.MachineConfig(v1alpha1.TypeWorker, nil)
	m.Cluster.Network = &v1alpha1.ClusterNetwork{CNI: &v1alpha1.CNI{Name: "none"}}
	ctest.SetConfig(t, h.State, m)
	ctest.Eventually(t, "conflist removed", func() bool { _, err := os.Stat(p); return os.IsNotExist(err) })
}

func TestRenderCNIConfigDualStack(t *testing.T) {
	out, err := renderCNIConfig([]string{"10.244.1.0/24", "fd00:10:244:1::/64"}, 1450)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"dst": "0.0.0.0/0"`, `"dst": "::/0"`, `"subnet": "fd00:10:244:1::/64"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("conflist lacks %s:\n%s", want, out)
		}
	}
	if _, err := renderCNIConfig([]string{"nope"}, 1450); err == nil {
		t.Fatal("bad CIDR accepted")
	}
}

func TestProxyController(t *testing.T) {
	root := t.TempDir()
	h := ctest.New(t, &ProxyController{Root: root, Mode: validation.ModeContainer})
	h.Start(t)
	m := ctest.MachineConfig(v1alpha1.TypeWorker, nil)
	m.Cluster.Proxy = &v1alpha1.Proxy{ExtraArgs: map[string]string{"v": "3"}}
	ctest.SetConfig(t, h.State, m)
	setKubelet(t, h.State, k8s.KubeletSpec{NodeName: "w-1", Kubeconfig: KubeletKubeconfigPath})
	ctest.Eventually(t, "kube-proxy service config", func() bool { return nodeServiceConfig(t, h, ProxyServiceID) != nil })
	sc := nodeServiceConfig(t, h, ProxyServiceID).TypedSpec()
	if strings.Join(sc.Args, " ") != ProxyBinary+" --config="+ProxyConfigPath+" --v=3" || sc.WaitFiles[0] != KubeletKubeconfigPath {
		t.Fatalf("spec %+v", sc)
	}
	cfg := readNodeFile(t, root, ProxyConfigPath)
	for _, want := range []string{"mode: iptables", "clusterCIDR: 10.244.0.0/16", "maxPerCore: 0", "hostnameOverride: w-1",
		"kubeconfig: " + KubeletKubeconfigPath} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}

	m = ctest.MachineConfig(v1alpha1.TypeWorker, nil)
	m.Cluster.Proxy = &v1alpha1.Proxy{Disabled: true}
	ctest.SetConfig(t, h.State, m)
	ctest.Eventually(t, "kube-proxy removed", func() bool { return nodeServiceConfig(t, h, ProxyServiceID) == nil })
}

func TestNodeLabelsController(t *testing.T) {
	var mu sync.Mutex
	var applied []map[string]string
	registered := false
	apply := func(_ context.Context, _, kubeconfig, name string, labels map[string]string) error {
		mu.Lock()
		defer mu.Unlock()
		if kubeconfig != AdminKubeconfigPath || name != "cp-1" {
			return errors.New("wrong node or kubeconfig")
		}
		if !registered {
			return errNodeNotRegistered
		}
		applied = append(applied, labels)
		return nil
	}
	h := ctest.New(t, &NodeLabelsController{Apply: apply, RetryInterval: 5 * time.Millisecond})
	h.Start(t)
	ctest.SetConfig(t, h.State, ctest.MachineConfig(v1alpha1.TypeControlPlane, nil))
	setKubelet(t, h.State, k8s.KubeletSpec{NodeName: "cp-1", Labels: map[string]string{ControlPlaneRoleLabel: "", "team": "a"}})
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	registered = true
	mu.Unlock()
	ctest.Eventually(t, "labels applied", func() bool { mu.Lock(); defer mu.Unlock(); return len(applied) == 1 })
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(applied) != 1 || len(applied[0]) != 1 {
		t.Fatalf("applied %v (once, the role label only)", applied)
	}
}

func TestLoadKubeconfig(t *testing.T) {
	root := t.TempDir()
	ca := ctest.NewOSCA(t, nil)
	if err := os.MkdirAll(filepath.Join(root, KubeletCertDir), 0o700); err != nil {
		t.Fatal(err)
	}
	pem := append(append([]byte{}, ca.Crt...), ca.Key...)
	if err := os.WriteFile(filepath.Join(root, KubeletCurrentCertPath), pem, 0o600); err != nil {
		t.Fatal(err)
	}
	kc := "apiVersion: v1\nkind: Config\ncurrent-context: default-context\nclusters:\n- name: default-cluster\n  cluster:\n" +
		"    server: https://10.5.0.2:6443\n    certificate-authority-data: " + base64.StdEncoding.EncodeToString(ca.Crt) + "\n" +
		"contexts:\n- name: default-context\n  context: {cluster: default-cluster, user: default-auth}\n" +
		"users:\n- name: default-auth\n  user:\n    client-certificate: " + KubeletCurrentCertPath + "\n    client-key: " + KubeletCurrentCertPath + "\n"
	if err := os.WriteFile(filepath.Join(root, KubeletKubeconfigPath), []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadKubeconfig(root, KubeletKubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server != "https://10.5.0.2:6443" || string(cfg.CA) != string(ca.Crt) || len(cfg.Cert) == 0 || len(cfg.Key) == 0 {
		t.Fatalf("config %+v", cfg)
	}
	if _, err := kubeClientFor(root, KubeletKubeconfigPath); err != nil {
		t.Fatal(err)
	}
	if _, err := loadKubeconfig(root, "/nope"); !errors.Is(err, errNoKubeconfig) {
		t.Fatalf("missing kubeconfig: %v", err)
	}
}
