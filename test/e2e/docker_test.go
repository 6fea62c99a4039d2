package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/pkg/provision/docker/engine"
)

// testCluster is a created cluster and how to reach it.
type testCluster struct {
	ctl
	name       string
	cp, worker provision.Node
	stateDir   string
}

// createCluster creates a cluster of one control plane and one worker on
// a free subnet; it is destroyed when the test ends if the test did not.
func createCluster(t testing.TB, c ctl, name, subnet, image string) *testCluster {
	t.Helper()
	out := c.must(t, "cluster", "create", "--name", name, "--subnet", subnet, "--image", image,
		"--controlplanes", "1", "--workers", "1", "--wait-timeout", "5m")
	t.Logf("cluster create:\n%s", out)
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(c.clusters, name)); err == nil {
			out, err := c.run("cluster", "destroy", "--name", name)
			t.Logf("cleanup: cluster destroy (err %v):\n%s", err, out)
		}
	})
	dir := filepath.Join(c.clusters, name)
	cl, err := provision.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cl.Nodes) != 2 || cl.Nodes[0].Type != provision.TypeControlPlane || cl.Nodes[1].Type != provision.TypeWorker {
		t.Fatalf("cluster nodes: %+v", cl.Nodes)
	}
	return &testCluster{ctl: c, name: name, cp: cl.Nodes[0], worker: cl.Nodes[1], stateDir: dir}
}

func TestDockerCluster(t *testing.T) {
	docker := dockerOrSkip(t)
	image := nodeImage(t, docker)
	c := newCtl(t)
	name := fmt.Sprintf("e2e-%d", os.Getpid()%100000)
	subnet := freeSubnet(t, docker)

	before := snapshotHost(t).calibrate(t)
	before.mustWatch(t, kubeletSysctls...)
	start := time.Now()
	tc := createCluster(t, c, name, subnet.String(), image)
	t.Logf("cluster create until Kubernetes is healthy: %s", time.Since(start).Round(100*time.Millisecond))
	cp, worker := tc.cp.IP.String(), tc.worker.IP.String()

	t.Run("context", func(t *testing.T) {
		cfg, err := clientconfig.Open(c.config)
		if err != nil {
			t.Fatal(err)
		}
		ctx := cfg.Contexts[name]
		if cfg.Context != name || ctx == nil {
			t.Fatalf("current context %q, contexts %v: want %s", cfg.Context, cfg.Names(), name)
		}
		if !slices.Equal(ctx.Endpoints, []string{tc.cp.APIEndpoint}) || !slices.Equal(ctx.Nodes, []string{cp, worker}) {
			t.Errorf("context endpoints %v nodes %v", ctx.Endpoints, ctx.Nodes)
		}
		if !strings.HasPrefix(tc.cp.APIEndpoint, "127.0.0.1:") || !strings.HasPrefix(tc.worker.APIEndpoint, "127.0.0.1:") {
			t.Errorf("API endpoints %s, %s: want 127.0.0.1:PORT", tc.cp.APIEndpoint, tc.worker.APIEndpoint)
		}
	})

	t.Run("version over mTLS on each published endpoint", func(t *testing.T) {
		for _, n := range []provision.Node{tc.cp, tc.worker} {
			out := c.must(t, "-e", n.APIEndpoint, "-n", n.IP.String(), "version")
			if !strings.Contains(out, "Maintenance:  false") || !strings.Contains(out, "Mode:         container") {
				t.Errorf("%s version:\n%s", n.Name, out)
			}
		}
	})

	t.Run("fan-out through the control plane", func(t *testing.T) {
		out := c.must(t, "-n", cp+","+worker, "version")
		for _, ip := range []string{cp, worker} {
			if !strings.Contains(out, "NODE:         "+ip) {
				t.Errorf("version -n %s,%s lacks %s:\n%s", cp, worker, ip, out)
			}
		}
		if n := strings.Count(out, "Maintenance:  false"); n != 2 {
			t.Errorf("%d configured nodes answered, want 2:\n%s", n, out)
		}
		host := c.must(t, "-n", cp+","+worker, "get", "hostname")
		if !strings.Contains(host, tc.cp.Name) || !strings.Contains(host, tc.worker.Name) {
			t.Errorf("hostnames are not the node names:\n%s", host)
		}
	})

	t.Run("kubernetes", func(t *testing.T) { testKubernetes(t, tc) })

	t.Run("reboot --wait of the worker brings it back Ready", func(t *testing.T) {
		start := time.Now()
		out := c.must(t, "-n", worker, "reboot", "--wait", "--timeout", "2m")
		if !strings.Contains(out, "is back") {
			t.Errorf("reboot --wait: %s", out)
		}
		testWorkerBackReady(t, tc, start)
		t.Logf("worker rebooted and Ready again in %s", time.Since(start).Round(100*time.Millisecond))
	})

	t.Run("reset --graceful cordons and drains the worker, which joins again", func(t *testing.T) {
		k := kubectlOrSkip(t, c)
		node := tc.worker.Name
		onNode := func() string {
			return k.must(t, "get", "pods", "-A", "--field-selector", "spec.nodeName="+node,
				"-o", `jsonpath={range .items[*]}{.metadata.ownerReferences[0].kind}/{.metadata.name} {.status.phase}{"\n"}{end}`)
		}
		before := onNode()
		start := time.Now()
		out := c.must(t, "-n", worker, "reset", "--graceful", "--reboot")
		if !strings.Contains(out, "maintenance") {
			t.Errorf("reset --graceful --reboot: %s", out)
		}
		t.Logf("graceful reset of the worker back in maintenance mode in %s; its pods before:\n%s", time.Since(start).Round(100*time.Millisecond), before)
		if got := k.must(t, "get", "node", node, "-o", "jsonpath={.spec.unschedulable}"); got != "true" {
			t.Errorf("node %s not cordoned after a graceful reset (unschedulable %q)", node, got)
		}
		for line := range strings.SplitSeq(strings.TrimSpace(onNode()), "\n") {
			// A drain leaves DaemonSet and static (Node-owned) pods and
			// pods that have ended, as kubectl drain does.
			ended := strings.HasSuffix(line, " Succeeded") || strings.HasSuffix(line, " Failed")
			if line != "" && !ended && !strings.HasPrefix(line, "DaemonSet/") && !strings.HasPrefix(line, "Node/") {
				t.Errorf("pod left on the drained node: %s", line)
				logDrain(t, docker, node)
			}
		}
		// The wiped worker takes its config again and rejoins.
		cfg := filepath.Join(tc.stateDir, tc.worker.Name+".yaml")
		applied := time.Now()
		c.eventually(t, "applied", "-e", tc.worker.APIEndpoint, "-n", worker, "apply-config", "--insecure", "-f", cfg)
		c.eventually(t, "Maintenance:  false", "-n", worker, "version")
		k.must(t, "uncordon", node)
		testWorkerJoined(t, k, tc, applied)
	})

	// Renaming the worker makes kubelet register a new node: after the
	// Kubernetes checks.

	t.Run("apply-config without reboot on the worker", func(t *testing.T) {
		cfg := filepath.Join(tc.stateDir, tc.worker.Name+".yaml")
		out := c.must(t, "-n", worker, "apply-config", "-f", cfg, "--mode", "no-reboot",
			"--config-patch", `{"machine": {"network": {"hostname": "renamed-worker"}}}`)
		if !strings.Contains(out, "applied without a reboot") {
			t.Errorf("apply-config: %s", out)
		}
		c.eventually(t, "renamed-worker", "-n", worker, "get", "hostname")
	})

	t.Run("reboot --wait of the worker", func(t *testing.T) {
		out := c.must(t, "-n", worker, "reboot", "--wait", "--timeout", "2m")
		if !strings.Contains(out, "is back") {
			t.Errorf("reboot --wait: %s", out)
		}
		c.eventually(t, "Maintenance:  false", "-n", worker, "version")
		c.eventually(t, "renamed-worker", "-n", worker, "get", "hostname")
	})

	t.Run("show", func(t *testing.T) {
		out := c.must(t, "cluster", "show", "--name", name)
		if n := strings.Count(out, "running"); n != 2 {
			t.Errorf("cluster show: %d nodes running, want 2:\n%s", n, out)
		}
	})

	t.Run("host unchanged while the cluster runs", func(t *testing.T) {
		if d := before.diff(snapshotHost(t), subnet, subnet); len(d) > 0 {
			t.Errorf("the cluster changed its host:\n%s", strings.Join(d, "\n"))
		}
	})

	t.Run("destroy leaves nothing", func(t *testing.T) {
		start := time.Now()
		out := c.must(t, "cluster", "destroy", "--name", name)
		t.Logf("cluster destroy (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
		if left := leftovers(t, docker, name); len(left) > 0 {
			t.Errorf("left in Docker after destroy: %s", strings.Join(left, ", "))
		}
		if _, err := os.Stat(tc.stateDir); !os.IsNotExist(err) {
			t.Errorf("state directory after destroy: %v", err)
		}
		cfg, err := clientconfig.Open(c.config)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := cfg.Contexts[name]; ok || cfg.Context == name {
			t.Errorf("context %s survived destroy", name)
		}
		if kc, err := os.ReadFile(c.kubeconfig); err == nil && strings.Contains(string(kc), "admin@"+name) {
			t.Errorf("kubeconfig context admin@%s survived destroy:\n%s", name, kc)
		}
		if d := before.diff(snapshotHost(t), netip.Prefix{}, subnet); len(d) > 0 {
			t.Errorf("host state differs after destroy:\n%s", strings.Join(d, "\n"))
		}
		if _, err := c.run("cluster", "destroy", "--name", name); err == nil {
			t.Error("destroying a destroyed cluster succeeded, want a not-found error")
		}
	})
}

// BenchmarkClusterCreate measures `plinthctl cluster create` of one
// control plane and one worker and reports the medians, in seconds, until
// both nodes are Ready in Kubernetes (ready-s, the figure of the target)
// and until create is done (create-s: health checks passed, CoreDNS
// ready, kubeconfig merged). The cluster is destroyed between runs,
// untimed. Run it with -benchtime 3x.
func BenchmarkClusterCreate(b *testing.B) {
	docker := dockerOrSkip(b)
	image := nodeImage(b, docker)
	c := newCtl(b)
	name := fmt.Sprintf("bench-%d", os.Getpid()%100000)
	subnet := freeSubnet(b, docker).String()
	// The first create probes the host's privileges; keep that out.
	c.must(b, "cluster", "create", "--name", name, "--subnet", subnet, "--image", image)
	c.must(b, "cluster", "destroy", "--name", name)
	var secs, ready []float64
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		out, readyAt, err := c.runMarked("waiting for all nodes to be Ready: OK", "cluster", "create", "--name", name, "--subnet", subnet, "--image", image)
		took := time.Since(start)
		b.StopTimer()
		if err != nil || readyAt.IsZero() {
			_, _ = c.run("cluster", "destroy", "--name", name)
			b.Fatalf("cluster create: %v\n%s", err, out)
		}
		secs = append(secs, took.Seconds())
		ready = append(ready, readyAt.Sub(start).Seconds())
		c.must(b, "cluster", "destroy", "--name", name)
		b.StartTimer()
	}
	b.ReportMetric(medianOf(ready), "ready-s")
	b.ReportMetric(medianOf(secs), "create-s")
	b.ReportMetric(0, "ns/op")
}

// medianOf is the median of v (sorted in place).
func medianOf(v []float64) float64 {
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return med
}

// logDrain logs what the node's console said about its drain, for a
// failed drain check.
func logDrain(t *testing.T, docker *engine.Client, container string) {
	out, err := docker.ContainerLogs(context.Background(), container, 2000)
	if err != nil {
		t.Logf("console of %s: %v", container, err)
		return
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if strings.Contains(line, "drain") || strings.Contains(line, "evict") || strings.Contains(line, "cordon") {
			t.Logf("%s: %s", container, line)
		}
	}
}
