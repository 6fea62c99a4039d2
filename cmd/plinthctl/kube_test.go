package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/client/kubeconfig"
	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
)

// runKubeCases runs each case on a fresh fake node with its Kubernetes
// side, prepared by setup.
func runKubeCases(t *testing.T, cases []nodeCase, setup func(t *testing.T, f *fakeNode)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			f := newFakeNode(t)
			f.useKube(t)
			t.Setenv("KUBECONFIG", filepath.Join(f.dir, "kube", "config"))
			if setup != nil {
				setup(t, f)
			}
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.NewReplacer("$TMP", f.dir, "$K8S", f.kube.api.URL).Replace(a)
			}
			got := f.run(t, args...)
			if calls := f.recorded(); len(calls) > 0 {
				got += "--- calls\n" + strings.Join(calls, "\n") + "\n"
			}
			golden(t, tc.golden+".txt", []byte(got))
		})
	}
}

func TestEtcdCommands(t *testing.T) {
	runKubeCases(t, []nodeCase{
		{"etcd/members", []string{"etcd", "members", "-n", "10.5.0.2,10.5.0.9"}},
		{"etcd/members-local", []string{"etcd", "members", "--local"}},
		{"etcd/status", []string{"etcd", "status", "-n", "10.5.0.2,10.5.0.9"}},
		{"etcd/snapshot", []string{"etcd", "snapshot", "$TMP/db.snapshot", "-n", "10.5.0.2"}},
		{"etcd/snapshot-not-bbolt", []string{"etcd", "snapshot", "$TMP/db.snapshot", "-n", "10.5.0.4"}},
		{"etcd/snapshot-two-nodes", []string{"etcd", "snapshot", "$TMP/db.snapshot", "-n", "10.5.0.2,10.5.0.3"}},
		{"etcd/snapshot-failing-node", []string{"etcd", "snapshot", "$TMP/db.snapshot", "-n", "10.5.0.9"}},
		{"etcd/remove-member", []string{"etcd", "remove-member", "8e9e05c52164694d"}},
		{"etcd/remove-member-unknown", []string{"etcd", "remove-member", "0x1234"}},
		{"etcd/remove-member-bad-id", []string{"etcd", "remove-member", "cp-1"}},
		{"etcd/leave-last-member", []string{"etcd", "leave", "-n", "10.5.0.2"}},
		{"etcd/defrag", []string{"etcd", "defrag", "-n", fanOut}},
	}, nil)
}

func TestImageAndContainerCommands(t *testing.T) {
	runKubeCases(t, []nodeCase{
		{"image/list", []string{"image", "list", "-n", "10.5.0.2,10.5.0.9"}},
		{"image/list-namespace", []string{"image", "list", "--namespace", "system"}},
		{"image/import", []string{"image", "import", "$TMP/hello.tar", "-n", fanOut}},
		{"image/import-missing", []string{"image", "import", "$TMP/nope.tar"}},
		{"containers/kubernetes", []string{"containers", "-k"}},
		{"containers/containerd-fanout", []string{"containers", "-n", "10.5.0.2,10.5.0.9"}},
		{"logs/kubernetes", []string{"logs", "-k", "kube-system/coredns-6d4b75cb6d-x2x7q/coredns", "--tail", "2"}},
	}, func(t *testing.T, f *fakeNode) {
		if err := os.WriteFile(filepath.Join(f.dir, "hello.tar"), []byte(strings.Repeat("x", 3<<20+5)), 0o644); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBootstrapCommand(t *testing.T) {
	f := newFakeNode(t)
	f.useKube(t)
	got := f.run(t, "bootstrap")
	got += f.run(t, "bootstrap", "-n", "10.5.0.2")
	got += f.run(t, "bootstrap", "-n", "10.5.0.2,10.5.0.3")
	got += "--- calls\n" + strings.Join(f.recorded(), "\n") + "\n"
	golden(t, "bootstrap/twice.txt", []byte(got))
}

func TestKubeconfigCommand(t *testing.T) {
	f := newFakeNode(t)
	k := f.useKube(t)
	kc := filepath.Join(f.dir, "kube", "config")
	t.Setenv("KUBECONFIG", kc)
	var got strings.Builder
	got.WriteString(f.run(t, "kubeconfig"))
	got.WriteString(f.run(t, "kubeconfig", "-n", "10.5.0.2")) // the same cluster: refreshed
	got.WriteString(f.run(t, "kubeconfig", "-n", "10.5.0.3"))
	got.WriteString(f.run(t, "kubeconfig", f.dir+"/other", "--server", "https://127.0.0.1:6443"))
	got.WriteString(f.run(t, "kubeconfig", f.dir+"/other", "--merge=false"))
	got.WriteString(f.run(t, "kubeconfig", f.dir+"/other", "--merge=false", "--force"))
	if err := os.Mkdir(filepath.Join(f.dir, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	got.WriteString(f.run(t, "kubeconfig", f.dir+"/dir"))
	golden(t, "kubeconfig/merge-and-files.txt", []byte(got.String()))

	cfg := readKubeconfigFile(t, kc)
	if cfg.CurrentContext != "admin@demo" || len(cfg.Contexts) != 1 {
		t.Errorf("~/.kube/config: current %q, %d contexts", cfg.CurrentContext, len(cfg.Contexts))
	}
	if cl, _, _ := readKubeconfigFile(t, filepath.Join(f.dir, "other")).Current(); cl == nil || cl.Server != k.api.URL {
		t.Errorf("forced file's server: %+v", cl)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "dir", "kubeconfig")); err != nil {
		t.Error(err)
	}
	if st, err := os.Stat(kc); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode: %v, %v", st, err)
	}
	stdout, _, err := runCLI(t, "--plinthconfig", f.config, "kubeconfig", "-")
	if err != nil || !strings.Contains(stdout, "current-context: admin@demo") {
		t.Errorf("kubeconfig -: %v\n%s", err, stdout)
	}
}

func readKubeconfigFile(t *testing.T, path string) *kubeconfig.Config {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := kubeconfig.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// healthyServices are a node's services once Kubernetes runs.
func healthyServices(node string) []*machine.ServiceInfo {
	ids := []string{"apid", "containerd", "kubelet", "kube-proxy"}
	if node == "10.5.0.2" {
		ids = append(ids, "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
	}
	var out []*machine.ServiceInfo
	for _, id := range ids {
		out = append(out, &machine.ServiceInfo{Id: id, State: "Running", Health: &machine.ServiceHealth{Healthy: true}})
	}
	return out
}

// useClusterConfig gives the fake node a real control-plane config.
func useClusterConfig(t *testing.T, f *fakeNode) {
	t.Helper()
	b, err := secrets.NewBundle()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := (&generate.Input{ClusterName: "demo", Endpoint: "https://10.5.0.2:6443", Secrets: b}).Config("controlplane")
	if err != nil {
		t.Fatal(err)
	}
	if f.machineConfig, err = cfg.Bytes(); err != nil {
		t.Fatal(err)
	}
}

func TestHealthCommand(t *testing.T) {
	old := healthPollInterval
	healthPollInterval = 10 * time.Millisecond
	t.Cleanup(func() { healthPollInterval = old })
	runKubeCases(t, []nodeCase{
		{"health/progress", []string{"health", "-n", "10.5.0.2,10.5.0.3"}},
		{"health/explicit-nodes", []string{"health", "--control-plane-nodes", "10.5.0.2", "--worker-nodes", "10.5.0.3", "--k8s-endpoint", "$K8S"}},
	}, func(t *testing.T, f *fakeNode) {
		useClusterConfig(t, f)
		f.services = healthyServices
		f.kube.slowStart = true
	})
	runKubeCases(t, []nodeCase{
		{"health/no-nodes", []string{"health", "--context", "direct"}},
		{"health/workers-only", []string{"health", "--worker-nodes", "10.5.0.3"}},
	}, nil)
	t.Run("health/kubelet-unhealthy-timeout", func(t *testing.T) {
		f := newFakeNode(t)
		f.useKube(t)
		useClusterConfig(t, f)
		f.services = func(node string) []*machine.ServiceInfo {
			out := healthyServices(node)
			if node == "10.5.0.3" {
				out[2].Health = &machine.ServiceHealth{LastMessage: "dial tcp 127.0.0.1:10248: connect: connection refused"}
			}
			return out
		}
		// The calls are left out: how many tries fit in the timeout varies.
		golden(t, "health/kubelet-unhealthy-timeout.txt", []byte(f.run(t, "health", "-n", "10.5.0.2,10.5.0.3", "--wait-timeout", "1500ms")))
	})
}
