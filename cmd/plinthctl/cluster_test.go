package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/pkg/provision/docker"
)

// fakeProvisioner "creates" clusters whose nodes are all the fake node.
type fakeProvisioner struct {
	endpoint string
	k8s      string // the fake Kubernetes API, host:port

	mu        sync.Mutex
	requests  []provision.ClusterRequest
	destroyed []string
	fail      error
	down      map[string]string // node states other than running
}

func (p *fakeProvisioner) Name() string { return "fake" }

func (p *fakeProvisioner) Create(_ context.Context, req provision.ClusterRequest, progress io.Writer) (*provision.Cluster, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, req)
	if p.fail != nil {
		return nil, p.fail
	}
	c := &provision.Cluster{Name: req.Name, Provisioner: "fake", Network: req.Network,
		Gateway: req.Network.Addr().Next(), StateDir: req.StateDir, Extra: map[string]string{docker.ExtraKubernetesAPI: p.k8s}}
	for _, n := range req.Nodes {
		c.Nodes = append(c.Nodes, provision.Node{Name: n.Name, Type: n.Type, IP: n.IP, APIEndpoint: p.endpoint, ID: "id-" + n.Name})
	}
	fmt.Fprintln(progress, "fake: nodes up")
	return c, c.Save()
}

func (p *fakeProvisioner) Destroy(_ context.Context, name string, progress io.Writer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.destroyed = append(p.destroyed, name)
	dir, err := provision.Dir(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); err != nil {
		return provision.ErrNotFound
	}
	fmt.Fprintln(progress, "fake: nodes gone")
	return os.RemoveAll(dir)
}

func (p *fakeProvisioner) NodeStates(_ context.Context, c *provision.Cluster) (map[string]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for _, n := range c.Nodes {
		out[n.Name] = "running"
		if s, ok := p.down[n.Name]; ok {
			out[n.Name] = s
		}
	}
	return out, nil
}

// clusterEnv registers a fake provisioner (nodes validated for container
// mode) whose nodes are a fake node trusting the test CA, with its own
// clusters directory and client config.
func clusterEnv(t *testing.T) (*fakeProvisioner, *fakeNode, string) {
	t.Helper()
	f := newFakeNode(t)
	k := f.useKube(t)
	useClusterConfig(t, f)
	f.services = healthyServices
	t.Setenv("KUBECONFIG", filepath.Join(f.dir, "kube", "config"))
	oldHealth := healthPollInterval
	healthPollInterval = 10 * time.Millisecond
	t.Cleanup(func() { healthPollInterval = oldHealth })
	p := &fakeProvisioner{endpoint: f.Addr, k8s: strings.TrimPrefix(k.api.URL, "https://")}
	provisioners["fake"] = func() (provision.Provisioner, error) { return p, nil }
	provisionerModes["fake"] = validation.ModeContainer
	provisionerImages["fake"] = "fake/node:1"
	oldSecrets, oldPoll := newClusterSecrets, clusterPollInterval
	newClusterSecrets = func() (*secrets.Bundle, error) { return sharedFakePKI(t).Bundle, nil }
	clusterPollInterval = 10 * time.Millisecond
	t.Cleanup(func() {
		delete(provisioners, "fake")
		delete(provisionerModes, "fake")
		delete(provisionerImages, "fake")
		newClusterSecrets, clusterPollInterval = oldSecrets, oldPoll
	})
	t.Setenv("PLINTH_CLUSTERS", filepath.Join(f.dir, "clusters"))
	return p, f, filepath.Join(f.dir, "client-config")
}

func TestClusterCreateShowDestroy(t *testing.T) {
	p, f, config := clusterEnv(t)
	kubeconfigPath := filepath.Join(f.dir, "kube", "config")
	out, stderr, err := runCLI(t, "--plinthconfig", config, "cluster", "create", "--provisioner", "fake",
		"--name", "demo", "--workers", "2", "--cpus", "1.5", "--memory", "1024")
	if err != nil {
		t.Fatalf("create: %v\n%s%s", err, out, stderr)
	}
	for _, line := range []string{
		"creating cluster demo with fake: 1 control plane, 2 workers",
		"fake: nodes up",
		"demo-controlplane-1 (10.5.0.2) answers over mutual TLS",
		"demo-worker-2 (10.5.0.4) answers over mutual TLS",
		"bootstrapping etcd on demo-controlplane-1 (10.5.0.2)",
		"waiting for etcd to be healthy: OK",
		"waiting for all nodes to be Ready: OK",
		"waiting for CoreDNS to be ready: OK",
		`added context "admin@demo" to ` + kubeconfigPath,
		"cluster demo is healthy in 0s",
		`context "demo" is current in ` + config,
		`kubectl context "admin@demo" is current in ` + kubeconfigPath,
		"  kubectl get nodes\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("create output lacks %q:\n%s", line, out)
		}
	}
	req := p.requests[0]
	var names []string
	for _, n := range req.Nodes {
		names = append(names, fmt.Sprintf("%s %s %s %.1f %d", n.Name, n.Type, n.IP, n.CPUs, n.MemoryMiB))
		if !strings.Contains(string(n.Config), "hostname: "+n.Name) {
			t.Errorf("config of %s does not name it:\n%s", n.Name, n.Config)
		}
	}
	want := []string{
		"demo-controlplane-1 controlplane 10.5.0.2 1.5 1024",
		"demo-worker-1 worker 10.5.0.3 1.5 1024",
		"demo-worker-2 worker 10.5.0.4 1.5 1024",
	}
	if !slices.Equal(names, want) || req.Network != netip.MustParsePrefix("10.5.0.0/24") || req.Image != "fake/node:1" {
		t.Errorf("request nodes %q network %s image %s", names, req.Network, req.Image)
	}
	for _, file := range []string{"secrets.yaml", "demo-worker-1.yaml", "plinthconfig", "cluster.json"} {
		st, err := os.Stat(filepath.Join(req.StateDir, file))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v: want 0600", file, err, st)
		}
	}
	cfg, err := clientconfig.Open(config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cfg.Contexts["demo"]
	if cfg.Context != "demo" || ctx == nil || !slices.Equal(ctx.Nodes, []string{"10.5.0.2", "10.5.0.3", "10.5.0.4"}) ||
		!slices.Equal(ctx.Endpoints, []string{p.endpoint}) {
		t.Fatalf("client config: current %q, context %+v", cfg.Context, ctx)
	}
	c, err := provision.Load("demo")
	if err != nil || c.Extra[extraContext] != "demo" || c.Extra[extraPlinthConfig] != config ||
		c.Extra[extraKubeconfig] != kubeconfigPath || c.Extra[extraKubeconfigContext] != "admin@demo" {
		t.Errorf("cluster.json: %+v, %v", c, err)
	}
	kc := readKubeconfigFile(t, kubeconfigPath)
	if cl, _, err := kc.Current(); err != nil || cl.Server != f.kube.api.URL || kc.CurrentContext != "admin@demo" {
		t.Errorf("kubeconfig: current %q, cluster %+v, %v", kc.CurrentContext, cl, err)
	}
	if calls := strings.Join(f.recorded(), "\n"); !strings.Contains(calls, "Bootstrap nodes=10.5.0.2") {
		t.Errorf("no bootstrap of the first control plane in:\n%s", calls)
	}

	out, _, err = runCLI(t, "cluster", "show", "--name", "demo")
	if err != nil || !strings.Contains(out, "demo-worker-2         worker         10.5.0.4   "+p.endpoint+"   running") ||
		!strings.Contains(out, "Kubernetes API "+f.kube.api.URL+`, context "admin@demo" in `+kubeconfigPath) {
		t.Errorf("show: %v\n%s", err, out)
	}

	// A second cluster of the same name is refused before anything runs.
	if _, _, err := runCLI(t, "cluster", "create", "--provisioner", "fake", "--name", "demo"); err == nil ||
		!strings.Contains(err.Error(), "cluster demo exists") {
		t.Errorf("second create: %v", err)
	}

	out, _, err = runCLI(t, "cluster", "destroy", "--name", "demo")
	if err != nil || !strings.Contains(out, `removed context "demo" from `+config) || !strings.Contains(out, "destroyed cluster demo") ||
		!strings.Contains(out, `removed context "admin@demo" from `+kubeconfigPath) {
		t.Errorf("destroy: %v\n%s", err, out)
	}
	if kc := readKubeconfigFile(t, kubeconfigPath); len(kc.Contexts) != 0 || kc.CurrentContext != "" {
		t.Errorf("kubeconfig context survived destroy: %+v", kc)
	}
	if cfg, _ := clientconfig.Open(config); cfg.Contexts["demo"] != nil || cfg.Context != "" {
		t.Errorf("context survived destroy: %+v", cfg)
	}
	if _, _, err := runCLI(t, "cluster", "destroy", "--name", "demo", "--provisioner", "fake"); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("destroying again: %v, want not found", err)
	}
	if _, _, err := runCLI(t, "cluster", "show", "--name", "demo"); err == nil || !strings.Contains(err.Error(), "no cluster named demo") {
		t.Errorf("show after destroy: %v", err)
	}
}

func TestClusterCreateFailuresLeaveNothing(t *testing.T) {
	t.Run("a node never answers", func(t *testing.T) {
		p, f, config := clusterEnv(t)
		f.failing["10.5.0.3"] = "dial 10.5.0.3:50000: connect: connection refused"
		p.down = map[string]string{"plinth-worker-1": "exited"}
		out, _, err := runCLI(t, "--plinthconfig", config, "cluster", "create", "--provisioner", "fake", "--wait-timeout", "300ms")
		if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "(plinth-worker-1 is exited)") {
			t.Fatalf("create = %v\n%s", err, out)
		}
		if !slices.Equal(p.destroyed, []string{"plinth"}) {
			t.Errorf("destroyed %q, want the new cluster", p.destroyed)
		}
		if names, _ := provision.List(); len(names) != 0 {
			t.Errorf("clusters left: %q", names)
		}
		if _, err := os.Stat(config); err == nil {
			t.Error("the client config was written for a failed cluster")
		}
	})
	t.Run("the provisioner fails", func(t *testing.T) {
		p, _, _ := clusterEnv(t)
		p.fail = errors.New("no space left on device")
		_, _, err := runCLI(t, "cluster", "create", "--provisioner", "fake")
		if err == nil || !strings.Contains(err.Error(), "no space left on device") {
			t.Fatalf("create = %v", err)
		}
		dir, _ := provision.Dir("plinth")
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("state directory after a failed create: %v", err)
		}
	})
}

func TestClusterCreateRefusals(t *testing.T) {
	p, _, _ := clusterEnv(t)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no control plane": {[]string{"--controlplanes", "0"}, "at least one control plane"},
		"bad subnet":       {[]string{"--subnet", "10.5.0.0"}, "--subnet"},
		"small subnet":     {[]string{"--subnet", "10.5.0.0/30"}, "has room for 1 nodes, not 2"},
		"bad name":         {[]string{"--name", "Demo"}, "--name"},
		"unknown provisioner": {[]string{"--provisioner", "vbox"},
			`--provisioner "vbox": expected one of docker, fake`},
		"host sysctl in container mode": {[]string{"--config-patch", `{"machine": {"sysctls": {"vm.overcommit_memory": "1"}}}`},
			"would change the host's kernel"},
		"bad patch": {[]string{"--config-patch-worker", "@/nonexistent.yaml"}, "--config-patch-worker"},
	} {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"cluster", "create", "--provisioner", "fake"}, tc.args...)
			if slices.Contains(tc.args, "--provisioner") {
				args = append([]string{"cluster", "create"}, tc.args...)
			}
			_, _, err := runCLI(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("create %s = %v, want %q", strings.Join(tc.args, " "), err, tc.want)
			}
		})
	}
	if len(p.requests) != 0 {
		t.Errorf("refused creates reached the provisioner: %d", len(p.requests))
	}
	if names, _ := provision.List(); len(names) != 0 {
		t.Errorf("refused creates left clusters: %q", names)
	}
}

func TestDefaultProvisionerWithoutDocker(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "docker.sock"))
	t.Setenv("PLINTH_CLUSTERS", t.TempDir())
	_, err := pickProvisioner(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "no Docker daemon answers") || !strings.Contains(err.Error(), "--provisioner qemu") {
		t.Errorf("pickProvisioner = %v", err)
	}
	_, err = pickProvisioner(context.Background(), "docker")
	if err == nil || strings.Contains(err.Error(), "--provisioner qemu") {
		t.Errorf("explicit docker = %v, want no qemu hint", err)
	}
}

func TestNodeRequests(t *testing.T) {
	l := clusterLayout{name: "x", subnet: netip.MustParsePrefix("192.168.9.0/29"), controlPlanes: 2, workers: 3}
	nodes, err := l.nodeRequests()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range nodes {
		got = append(got, n.Name+"="+n.IP.String())
	}
	want := []string{"x-controlplane-1=192.168.9.2", "x-controlplane-2=192.168.9.3", "x-worker-1=192.168.9.4",
		"x-worker-2=192.168.9.5", "x-worker-3=192.168.9.6"}
	if !slices.Equal(got, want) {
		t.Errorf("nodes %q, want %q", got, want)
	}
	l.workers = 4
	if _, err := l.nodeRequests(); err == nil {
		t.Error("6 nodes fit in a /29")
	}
}
