package etcd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
	rt "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// start runs the PKI and service controllers on a fake cluster.
func start(t *testing.T, root string, f *fakeCluster) *ctest.Harness {
	t.Helper()

	h := ctest.New(t,
		&PKIController{Root: root},
		&ServiceController{Root: root, Dial: f.dial, PollInterval: 5 * time.Millisecond, SteadyInterval: 20 * time.Millisecond},
	)
	h.Start(t)

	return h
}

func serviceConfig(t *testing.T, h *ctest.Harness) *rt.ServiceConfig {
	t.Helper()

	return ctest.Get[rt.ServiceConfigSpec](t, h.State, rt.NamespaceName, rt.ServiceConfigType, ServiceID)
}

func etcdStatus(t *testing.T, h *ctest.Harness) etcd.StatusSpec {
	t.Helper()

	s := ctest.Get[etcd.StatusSpec](t, h.State, etcd.NamespaceName, etcd.StatusType, etcd.StatusID)
	if s == nil {
		return etcd.StatusSpec{}
	}

	return *s.TypedSpec()
}

func TestBootstrapNode(t *testing.T) {
	root := t.TempDir()
	f := &fakeCluster{down: true}
	h := start(t, root, f)

	ctest.SetConfig(t, h.State, testConfig(t, v1alpha1.TypeControlPlane))
	setNetwork(t, h.State, "cp1", "10.5.0.2/24")

	ctest.Eventually(t, "waiting for bootstrap", func() bool {
		s := etcdStatus(t, h)

		return s.Phase == etcd.PhaseWaiting && s.Role == RoleJoin && strings.Contains(s.Message, "waiting for bootstrap")
	})

	if serviceConfig(t, h) != nil {
		t.Fatal("etcd configured before bootstrap")
	}

	ctx := context.Background()
	if err := Bootstrap(ctx, h.State, root, time.Now); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}

	err := Bootstrap(ctx, h.State, root, time.Now)

	var re *RefusedError
	if !errors.As(err, &re) || re.Error() != "etcd is already bootstrapped on this node" {
		t.Fatalf("second Bootstrap: %v", err)
	}

	ctest.Eventually(t, "service config", func() bool { return serviceConfig(t, h) != nil })

	spec := serviceConfig(t, h).TypedSpec()
	for _, want := range []string{"--initial-cluster=cp1=https://10.5.0.2:2380", "--initial-cluster-state=new", "--name=cp1"} {
		if !slices.Contains(spec.Args, want) {
			t.Errorf("args %v lack %s", spec.Args, want)
		}
	}

	certs := ctest.Get[etcd.CertificatesSpec](t, h.State, etcd.NamespaceName, etcd.CertificatesType, etcd.CertificatesID)
	if spec.ConfigHash != certs.TypedSpec().Hash || spec.HealthCheck == nil ||
		spec.HealthCheck.URL != "https://127.0.0.1:2379/health" || spec.HealthCheck.CertFile != ClientCertPath {
		t.Errorf("service config %+v", spec)
	}

	if b, err := os.ReadFile(filepath.Join(root, BootstrappedPath)); err != nil || len(b) == 0 {
		t.Errorf("bootstrap record: %q, %v", b, err)
	}

	// etcd comes up: running, one member.
	f.set(func(f *fakeCluster) {
		f.down, f.localUp, f.local = false, true, 1
		f.members = []member{{ID: 1, Name: "cp1", PeerURLs: []string{"https://10.5.0.2:2380"}, ClientURLs: []string{"https://10.5.0.2:2379"}}}
	})

	ctest.Eventually(t, "running", func() bool {
		s := etcdStatus(t, h)

		return s.Phase == etcd.PhaseRunning && s.Healthy && s.MemberID == "1" && s.Role == RoleBootstrap
	})

	ctest.Eventually(t, "member resource", func() bool {
		return ctest.Get[etcd.MemberSpec](t, h.State, etcd.NamespaceName, etcd.MemberType, "1") != nil
	})
}

func TestJoinNode(t *testing.T) {
	root := t.TempDir()
	f := &fakeCluster{down: true, nextID: 1, members: []member{
		{ID: 1, Name: "cp0", PeerURLs: []string{"https://10.5.0.1:2380"}, ClientURLs: []string{"https://10.5.0.1:2379"}},
	}}
	h := start(t, root, f)

	ctest.SetConfig(t, h.State, testConfig(t, v1alpha1.TypeControlPlane))
	setNetwork(t, h.State, "cp1", "10.5.0.2/24")

	ctest.Eventually(t, "waiting for a member", func() bool {
		return strings.Contains(etcdStatus(t, h).Message, "waiting for bootstrap or for an etcd member at https://10.5.0.1:2379")
	})

	f.set(func(f *fakeCluster) { f.down, f.promoteFailures = false, 2 })

	ctest.Eventually(t, "service config", func() bool { return serviceConfig(t, h) != nil })

	args := serviceConfig(t, h).TypedSpec().Args
	for _, want := range []string{"--initial-cluster=cp0=https://10.5.0.1:2380,cp1=https://10.5.0.2:2380", "--initial-cluster-state=existing"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}

	err := Bootstrap(context.Background(), h.State, root, time.Now)
	if err == nil || !strings.Contains(err.Error(), "the cluster is already bootstrapped") {
		t.Errorf("Bootstrap on a joining node: %v", err)
	}

	f.set(func(f *fakeCluster) { f.localUp = true })

	ctest.Eventually(t, "promoted", func() bool {
		s := etcdStatus(t, h)

		return s.Phase == etcd.PhaseRunning && s.MemberID == "2"
	})

	if !f.get(func(f *fakeCluster) bool { return f.adds == 1 && f.promotes == 3 }) {
		t.Errorf("adds %d, promotes %d; want 1 and 3", f.adds, f.promotes)
	}

	if !f.get(func(f *fakeCluster) bool {
		return slices.ContainsFunc(f.dials, func(e []string) bool { return slices.Equal(e, []string{"https://10.5.0.1:2379"}) })
	}) {
		t.Errorf("never dialed the endpoint host: %v", f.dials)
	}

	// The arguments did not change once etcd had data.
	if err := os.MkdirAll(filepath.Join(root, DataDir, "member"), 0o700); err != nil {
		t.Fatal(err)
	}

	time.Sleep(50 * time.Millisecond)

	if got := serviceConfig(t, h).TypedSpec().Args; !slices.Equal(got, args) {
		t.Errorf("args changed once data appeared: %v", got)
	}
}

func TestRestartWithData(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, DataDir, "member"), 0o700); err != nil {
		t.Fatal(err)
	}

	h := start(t, root, &fakeCluster{down: true})
	ctest.SetConfig(t, h.State, testConfig(t, v1alpha1.TypeControlPlane))
	setNetwork(t, h.State, "cp1", "10.5.0.2/24")

	ctest.Eventually(t, "service config", func() bool { return serviceConfig(t, h) != nil })

	for _, a := range serviceConfig(t, h).TypedSpec().Args {
		if strings.HasPrefix(a, "--initial-cluster") {
			t.Errorf("a member with data got %s", a)
		}
	}

	err := Bootstrap(context.Background(), h.State, root, time.Now)
	if err == nil || !strings.Contains(err.Error(), "etcd already has data") {
		t.Errorf("Bootstrap with data: %v", err)
	}

	// A reset removes the config: the service goes, the data stays.
	ctest.DestroyConfig(t, h.State)
	ctest.Eventually(t, "service config removed", func() bool { return serviceConfig(t, h) == nil })
}

func TestBootstrapRefusedOnWorkers(t *testing.T) {
	root := t.TempDir()
	h := start(t, root, &fakeCluster{down: true})

	err := Bootstrap(context.Background(), h.State, root, time.Now)
	if err == nil || !strings.Contains(err.Error(), "no machine config") {
		t.Errorf("Bootstrap without config: %v", err)
	}

	ctest.SetConfig(t, h.State, testConfig(t, v1alpha1.TypeWorker))
	setNetwork(t, h.State, "w1", "10.5.0.3/24")

	err = Bootstrap(context.Background(), h.State, root, time.Now)
	if err == nil || !strings.Contains(err.Error(), "only possible on a control-plane node") {
		t.Errorf("Bootstrap on a worker: %v", err)
	}

	time.Sleep(30 * time.Millisecond)

	if serviceConfig(t, h) != nil {
		t.Error("etcd configured on a worker")
	}

	if _, err := os.Stat(filepath.Join(root, SecretsDir)); !os.IsNotExist(err) {
		t.Errorf("etcd secrets on a worker: %v", err)
	}
}

func TestEndpointIsThisNode(t *testing.T) {
	f := &fakeCluster{down: true}
	h := start(t, t.TempDir(), f)

	ctest.SetConfig(t, h.State, testConfig(t, v1alpha1.TypeControlPlane)) // endpoint https://10.5.0.1:6443
	setNetwork(t, h.State, "cp0", "10.5.0.1/24")

	ctest.Eventually(t, "waiting for bootstrap", func() bool {
		return strings.Contains(etcdStatus(t, h).Message, "the control-plane endpoint is this node")
	})

	if f.get(func(f *fakeCluster) bool { return len(f.dials) > 0 }) {
		t.Error("dialed itself to join")
	}
}
