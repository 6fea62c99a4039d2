package k8s

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/etcd"
	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/kube"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	resetcd "github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
)

// cpFakeAPI answers discovery of the kinds the manifests use, server-side
// apply patches and /readyz once ready is set.
type cpFakeAPI struct {
	mu      sync.Mutex
	ready   bool
	patches []string // "path?query content-type"
	// failPath makes patches of that path fail once.
	failPath string
}

var cpDiscovery = map[string]string{
	"/api/v1": `{"resources":[{"name":"namespaces","kind":"Namespace"},{"name":"secrets","kind":"Secret","namespaced":true},` +
		`{"name":"configmaps","kind":"ConfigMap","namespaced":true},{"name":"serviceaccounts","kind":"ServiceAccount","namespaced":true},` +
		`{"name":"services","kind":"Service","namespaced":true}]}`,
	"/apis/rbac.authorization.k8s.io/v1": `{"resources":[{"name":"clusterroles","kind":"ClusterRole"},` +
		`{"name":"clusterrolebindings","kind":"ClusterRoleBinding"}]}`,
	"/apis/apps/v1": `{"resources":[{"name":"deployments","kind":"Deployment","namespaced":true},` +
		`{"name":"daemonsets","kind":"DaemonSet","namespaced":true}]}`,
}

func (f *cpFakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()

	body, _ := io.ReadAll(r.Body)

	switch {
	case r.URL.Path == "/readyz" && f.ready:
		_, _ = io.WriteString(w, "ok")
	case r.URL.Path == "/readyz":
		http.Error(w, "etcd not ready", http.StatusServiceUnavailable)
	case cpDiscovery[r.URL.Path] != "":
		_, _ = io.WriteString(w, cpDiscovery[r.URL.Path])
	case r.Method == http.MethodPatch && r.URL.Path == f.failPath:
		f.failPath = ""

		http.Error(w, `{"kind":"Status","reason":"InternalError","message":"etcdserver: request timed out"}`, http.StatusInternalServerError)
	case r.Method == http.MethodPatch:
		f.patches = append(f.patches, r.URL.Path+"?"+r.URL.RawQuery+" "+r.Header.Get("Content-Type"))
		_, _ = w.Write(body)
	default:
		http.NotFound(w, r)
	}
}

func (f *cpFakeAPI) snapshot() []string {
	f.mu.Lock()
	defer f.mu.Unlock()

	return slices.Clone(f.patches)
}

func TestManifestApply(t *testing.T) {
	root := t.TempDir()
	api := &cpFakeAPI{failPath: "/apis/apps/v1/namespaces/kube-system/deployments/coredns"}
	srv := httptest.NewTLSServer(api)
	t.Cleanup(srv.Close)

	var servers []string

	var mu sync.Mutex

	newClient := func(cfg kube.Config) (*kube.Client, error) {
		mu.Lock()
		servers = append(servers, cfg.Server)
		mu.Unlock()

		if len(cfg.Cert) == 0 || len(cfg.CA) == 0 {
			t.Errorf("client config without admin certificate or CA")
		}

		return kube.New(kube.Config{Server: srv.URL, Transport: srv.Client().Transport})
	}

	h := ctest.New(t,
		&PKIController{Root: root},
		ManifestsController{},
		&ManifestApplyController{Root: root, NewClient: newClient, RetryInitial: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond},
	)
	h.Start(t)

	cfg := cpConfig(t, v1alpha1.TypeControlPlane)
	ctest.SetConfig(t, h.State, cfg)
	cpSetNetwork(t, h.State, "cp1", "10.5.0.2/24")

	status := func(id string) *k8s.ManifestStatus {
		return ctest.Get[k8s.ManifestStatusSpec](t, h.State, k8s.NamespaceName, k8s.ManifestStatusType, id)
	}

	ctest.Eventually(t, "manifests rendered", func() bool {
		return ctest.Get[k8s.ManifestSpec](t, h.State, k8s.NamespaceName, k8s.ManifestType, ManifestFlannel) != nil
	})
	time.Sleep(30 * time.Millisecond)

	if len(api.snapshot()) > 0 || status(ManifestRBAC) != nil {
		t.Fatal("applied on a node that did not bootstrap the cluster")
	}

	// Bootstrapped: applied once the API server is ready.
	if err := etcd.Bootstrap(context.Background(), h.State, root, time.Now); err != nil {
		t.Fatal(err)
	}

	time.Sleep(30 * time.Millisecond)

	if len(api.snapshot()) > 0 {
		t.Fatal("applied before /readyz answered")
	}

	api.mu.Lock()
	api.ready = true
	api.mu.Unlock()

	for _, id := range []string{ManifestBootstrapToken, ManifestRBAC, ManifestClusterInfo, ManifestCoreDNS, ManifestFlannel} {
		ctest.Eventually(t, id+" applied", func() bool {
			s := status(id)

			return s != nil && s.TypedSpec().Applied
		})
	}

	patches := api.snapshot()
	for _, want := range []string{
		"/api/v1/namespaces/kube-system/secrets/bootstrap-token-",
		"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/plinth:node-autoapprove-bootstrap?fieldManager=plinth&force=true application/apply-patch+yaml",
		"/apis/apps/v1/namespaces/kube-system/deployments/coredns?",
		"/api/v1/namespaces/kube-system/services/kube-dns?",
		"/apis/apps/v1/namespaces/kube-flannel/daemonsets/kube-flannel-ds?",
		"/api/v1/namespaces/kube-public/configmaps/cluster-info?",
	} {
		if !slices.ContainsFunc(patches, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("no patch %s in\n%s", want, strings.Join(patches, "\n"))
		}
	}

	// In the flannel manifest the namespace comes first.
	ns := slices.IndexFunc(patches, func(p string) bool { return strings.HasPrefix(p, "/api/v1/namespaces/kube-flannel?") })
	ds := slices.IndexFunc(patches, func(p string) bool { return strings.Contains(p, "daemonsets/kube-flannel-ds") })

	if ns < 0 || ds < ns {
		t.Errorf("namespace kube-flannel at %d, daemonset at %d", ns, ds)
	}

	mu.Lock()
	if servers[0] != LocalAPIServer {
		t.Errorf("talked to %s, want the local API server", servers[0])
	}
	mu.Unlock()

	// A config without CoreDNS: its manifest and status go away.
	cfg = cpConfig(t, v1alpha1.TypeControlPlane)
	cfg.Cluster.CoreDNS = &v1alpha1.CoreDNS{Disabled: true}
	ctest.SetConfig(t, h.State, cfg)

	ctest.Eventually(t, "coredns status removed", func() bool { return status(ManifestCoreDNS) == nil })
}

func TestManifestApplyWaitsForBootstrapResource(t *testing.T) {
	root := t.TempDir()
	c := &ManifestApplyController{Root: root}
	h := ctest.New(t, c)
	h.Start(t)

	err := runtime.ModifyTyped(context.Background(), h.State, resetcd.NewBootstrap(), func(b *resetcd.Bootstrap) error {
		b.TypedSpec().Bootstrapped = true

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	ok, err := c.bootstrapNode(context.Background(), h.State)
	if err != nil || !ok {
		t.Errorf("bootstrapNode = %v, %v", ok, err)
	}
}
