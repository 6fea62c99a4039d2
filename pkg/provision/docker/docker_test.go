package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/pkg/provision/docker/engine"
)

// fullCaps is a bounding set with every capability up to 40.
const fullCaps = 1<<41 - 1

// applied records the configs the fake delivery received.
type applied struct {
	mu    sync.Mutex
	calls map[string]string // endpoint -> fingerprint
	fail  map[string]error  // endpoint -> error
}

func (a *applied) apply(_ context.Context, endpoint, fp string, _ []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.fail[endpoint]; err != nil {
		return err
	}
	a.calls[endpoint] = fp
	return nil
}

// newTest returns a provisioner on a fake engine, with privileged
// containers refused like on a host without CAP_SYS_RESOURCE.
func newTest(t *testing.T) (*Provisioner, *fakeEngine, *applied) {
	t.Helper()
	t.Setenv("PLINTH_CLUSTERS", t.TempDir())
	f := newFakeEngine()
	f.start = func(c *fakeContainer) error {
		if c.spec.HostConfig.Privileged {
			return &engine.Error{Status: http.StatusInternalServerError, Message: "failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: unable to apply caps: operation not permitted: unknown"}
		}
		return nil
	}
	a := &applied{calls: map[string]string{}, fail: map[string]error{}}
	p, err := New(Options{
		Engine: f, Apply: a.apply, Poll: time.Millisecond,
		HostCaps:    func() (uint64, int, error) { return fullCaps &^ (1 << 24), 40, nil },
		HostHasKmsg: func() bool { return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, f, a
}

// request is a cluster of one control plane and one worker.
func request(t *testing.T) provision.ClusterRequest {
	t.Helper()
	dir, err := provision.Dir("demo")
	if err != nil {
		t.Fatal(err)
	}
	node := func(name, typ, ip string) provision.NodeRequest {
		return provision.NodeRequest{Name: name, Type: typ, IP: netip.MustParseAddr(ip), Config: []byte("version: v1alpha1\n"), CPUs: 2, MemoryMiB: 2048}
	}
	return provision.ClusterRequest{
		Name: "demo", Network: netip.MustParsePrefix("10.5.0.0/24"), Image: "plinth/node:test", StateDir: dir,
		Nodes: []provision.NodeRequest{
			node("demo-controlplane-1", provision.TypeControlPlane, "10.5.0.2"),
			node("demo-worker-1", provision.TypeWorker, "10.5.0.3"),
		},
	}
}

func TestCreateAndDestroy(t *testing.T) {
	p, f, a := newTest(t)
	req := request(t)
	var progress bytes.Buffer
	c, err := p.Create(context.Background(), req, &progress)
	if err != nil {
		t.Fatalf("Create: %v\n%s", err, progress.String())
	}
	if c.Gateway != netip.MustParseAddr("10.5.0.1") || c.Provisioner != "docker" || len(c.Nodes) != 2 {
		t.Errorf("cluster %+v", c)
	}
	for i, n := range c.Nodes {
		if n.Name != req.Nodes[i].Name || n.IP != req.Nodes[i].IP || !strings.HasPrefix(n.APIEndpoint, "127.0.0.1:") || n.ID == "" {
			t.Errorf("node %d: %+v", i, n)
		}
		if got, want := a.calls[n.APIEndpoint], fingerprintOf(n.Name); got != want {
			t.Errorf("%s: config delivered with fingerprint %q, want the one in its logs %q", n.Name, got, want)
		}
	}
	if c.Extra["privileges"] != "capabilities" {
		t.Errorf("privileges %q, want capabilities", c.Extra["privileges"])
	}
	if k8s := c.Extra[ExtraKubernetesAPI]; !strings.HasPrefix(k8s, "127.0.0.1:") || k8s == c.Nodes[0].APIEndpoint {
		t.Errorf("published Kubernetes API %q, want 127.0.0.1:PORT", k8s)
	}
	for _, name := range []string{"demo-controlplane-1", "demo-worker-1"} {
		_, published := f.spec(name).HostConfig.PortBindings[kubernetesPort]
		if published != (name == "demo-controlplane-1") {
			t.Errorf("%s publishes 6443: %v, want it on control planes only", name, published)
		}
	}
	if _, err := provision.Load("demo"); err != nil {
		t.Errorf("cluster.json: %v", err)
	}
	want := []string{
		"container demo-controlplane-1", "container demo-worker-1",
		"network plinth-demo",
		"volume demo-controlplane-1-state", "volume demo-controlplane-1-var",
		"volume demo-worker-1-state", "volume demo-worker-1-var",
	}
	if got := f.objects(); !slices.Equal(got, want) {
		t.Errorf("objects after create:\n%q\nwant\n%q", got, want)
	}
	for _, line := range []string{"node privileges: capabilities", "creating network plinth-demo (10.5.0.0/24)",
		"started demo-worker-1 (worker, 10.5.0.3)", "applied the config of demo-controlplane-1", ", Kubernetes API on 127.0.0.1:"} {
		if !strings.Contains(progress.String(), line) {
			t.Errorf("progress lacks %q:\n%s", line, progress.String())
		}
	}

	states, err := p.NodeStates(context.Background(), c)
	if err != nil || states["demo-worker-1"] != "running" {
		t.Errorf("NodeStates = %v, %v", states, err)
	}

	if err := p.Destroy(context.Background(), "demo", &progress); err != nil {
		t.Fatal(err)
	}
	if got := f.objects(); len(got) != 0 {
		t.Errorf("left after destroy: %q", got)
	}
	if _, err := os.Stat(req.StateDir); !os.IsNotExist(err) {
		t.Errorf("state directory after destroy: %v", err)
	}
	if err := p.Destroy(context.Background(), "demo", nil); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("second Destroy = %v, want ErrNotFound", err)
	}
}

func TestCreateRemovesEverythingOnFailure(t *testing.T) {
	for name, breakIt := range map[string]func(f *fakeEngine, a *applied){
		"worker does not start": func(f *fakeEngine, _ *applied) {
			prev := f.start
			f.start = func(c *fakeContainer) error {
				if c.name == "demo-worker-1" {
					return errors.New("no space left on device")
				}
				return prev(c)
			}
		},
		"node exits before maintenance": func(f *fakeEngine, _ *applied) {
			f.logs = func(c *fakeContainer) string {
				c.running, c.exitCode = false, 1
				return "machined: prepare: read-only file system\n"
			}
		},
		"config refused": func(f *fakeEngine, a *applied) {
			a.fail["127.0.0.1:32770"] = errors.New("invalid config: machine.type")
			a.fail["127.0.0.1:32769"] = errors.New("invalid config: machine.type")
		},
	} {
		t.Run(name, func(t *testing.T) {
			p, f, a := newTest(t)
			breakIt(f, a)
			req := request(t)
			_, err := p.Create(context.Background(), req, nil)
			if err == nil {
				t.Fatal("Create succeeded")
			}
			if got := f.objects(); len(got) != 0 {
				t.Errorf("left after a failed create: %q (error %v)", got, err)
			}
			if _, err := provision.Load("demo"); !errors.Is(err, provision.ErrNotFound) {
				t.Errorf("cluster.json after a failed create: %v", err)
			}
			if name == "node exits before maintenance" && !strings.Contains(err.Error(), "read-only file system") {
				t.Errorf("error does not show the node's output: %v", err)
			}
		})
	}
}

func TestCreateCancelledCleansUp(t *testing.T) {
	p, f, _ := newTest(t)
	f.logs = func(*fakeContainer) string { return "still booting\n" } // never reaches maintenance
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Create(ctx, request(t), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Create = %v, want a deadline error", err)
	}
	if got := f.objects(); len(got) != 0 {
		t.Errorf("left after a timed-out create: %q", got)
	}
}

func TestCreateRefusals(t *testing.T) {
	p, f, _ := newTest(t)
	req := request(t)

	delete(f.images, "plinth/node:test")
	if _, err := p.Create(context.Background(), req, nil); err == nil || !strings.Contains(err.Error(), "make image-container") {
		t.Errorf("missing image: %v", err)
	}
	f.images["plinth/node:test"] = true

	f.volumes["demo-worker-1-var"] = engine.VolumeSpec{Name: "demo-worker-1-var", Labels: map[string]string{LabelCluster: "demo"}}
	if _, err := p.Create(context.Background(), req, nil); err == nil || !strings.Contains(err.Error(), "already exists in Docker (0 containers, 1 volume, 0 networks)") {
		t.Errorf("existing cluster: %v", err)
	}
	delete(f.volumes, "demo-worker-1-var")

	f.networks["other"] = engine.NetworkSpec{Name: "plinth-demo"}
	if _, err := p.Create(context.Background(), req, nil); err == nil || !strings.Contains(err.Error(), "does not belong to a Plinth cluster") {
		t.Errorf("network name taken: %v", err)
	}
	if got := f.objects(); !slices.Equal(got, []string{"network plinth-demo"}) {
		t.Errorf("a refused create changed Docker: %q", got)
	}
	delete(f.networks, "other")

	f.down = errors.New("dial unix /var/run/docker.sock: connect: no such file or directory")
	if _, err := p.Create(context.Background(), req, nil); err == nil || !strings.Contains(err.Error(), "start Docker") {
		t.Errorf("no daemon: %v", err)
	}
}

func TestCheckRequest(t *testing.T) {
	t.Setenv("PLINTH_CLUSTERS", t.TempDir())
	for name, tc := range map[string]struct {
		edit func(r *provision.ClusterRequest)
		want string
	}{
		"ok":            {func(*provision.ClusterRequest) {}, ""},
		"bad name":      {func(r *provision.ClusterRequest) { r.Name = "Demo" }, "cluster name"},
		"ipv6":          {func(r *provision.ClusterRequest) { r.Network = netip.MustParsePrefix("fd00::/64") }, "IPv4 subnet"},
		"gateway":       {func(r *provision.ClusterRequest) { r.Nodes[0].IP = netip.MustParseAddr("10.5.0.1") }, "other than the gateway"},
		"outside":       {func(r *provision.ClusterRequest) { r.Nodes[1].IP = netip.MustParseAddr("10.6.0.3") }, "not a host address"},
		"broadcast":     {func(r *provision.ClusterRequest) { r.Nodes[1].IP = netip.MustParseAddr("10.5.0.255") }, "not a host address"},
		"same ip":       {func(r *provision.ClusterRequest) { r.Nodes[1].IP = r.Nodes[0].IP }, "used twice"},
		"same name":     {func(r *provision.ClusterRequest) { r.Nodes[1].Name = r.Nodes[0].Name }, "name used twice"},
		"unknown type":  {func(r *provision.ClusterRequest) { r.Nodes[1].Type = "etcd" }, `type "etcd"`},
		"no config":     {func(r *provision.ClusterRequest) { r.Nodes[1].Config = nil }, "no machine config"},
		"no nodes":      {func(r *provision.ClusterRequest) { r.Nodes = nil }, "no nodes"},
		"no image":      {func(r *provision.ClusterRequest) { r.Image = "" }, "make image-container"},
		"tiny network":  {func(r *provision.ClusterRequest) { r.Network = netip.MustParsePrefix("10.5.0.0/30") }, "at least 8 addresses"},
		"no state dir":  {func(r *provision.ClusterRequest) { r.StateDir = "" }, "state directory"},
		"two problems":  {func(r *provision.ClusterRequest) { r.Image, r.StateDir = "", "" }, "state directory"},
		"worker at .10": {func(r *provision.ClusterRequest) { r.Nodes[1].IP = netip.MustParseAddr("10.5.0.10") }, ""},
	} {
		t.Run(name, func(t *testing.T) {
			req := request(t)
			tc.edit(&req)
			err := checkRequest(req)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("checkRequest = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLastFingerprint(t *testing.T) {
	fp1, fp2 := fingerprintOf("a"), fingerprintOf("bb")
	logs := fmt.Sprintf("x\nmaintenance mode: waiting for a machine config on :50000; certificate fingerprint SHA256 %s\nreboot\n"+
		"maintenance mode: waiting for a machine config on :50000; certificate fingerprint SHA256 %s\n", fp1, fp2)
	if got := lastFingerprint([]byte(logs)); got != fp2 {
		t.Errorf("lastFingerprint = %q, want the last banner's %q", got, fp2)
	}
	if got := lastFingerprint([]byte("booting\n")); got != "" {
		t.Errorf("lastFingerprint without a banner = %q", got)
	}
}

func TestDestroyRemovesOnlyItsStateDirectories(t *testing.T) {
	p, f, _ := newTest(t)
	other := t.TempDir()
	keep := filepath.Join(other, "keep")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A network whose label names a directory without a cluster description.
	f.networks["n1"] = engine.NetworkSpec{Name: "plinth-demo", Labels: map[string]string{LabelCluster: "demo", LabelStateDir: other}}
	if err := p.Destroy(context.Background(), "demo", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("Destroy removed a directory that is not a cluster's: %v", err)
	}
}
