package kube_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/kube"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// request is one request the fake API server received.
type request struct {
	Method, Path, Query, ContentType, Client string
	Body                                     map[string]any
}

// fakeAPI is a tiny API server: discovery of a few kinds, SSA patches,
// gets, lists and readyz, over TLS that requires a client certificate.
type fakeAPI struct {
	mu       sync.Mutex
	requests []request
	// crdReady makes example.com/v1 served.
	crdReady bool
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)

	rec := request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ContentType: r.Header.Get("Content-Type")}
	if len(r.TLS.PeerCertificates) > 0 {
		rec.Client = r.TLS.PeerCertificates[0].Subject.CommonName
	}

	_ = json.Unmarshal(body, &rec.Body)

	f.mu.Lock()
	f.requests = append(f.requests, rec)
	crd := f.crdReady
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")

	switch {
	case r.URL.Path == "/readyz":
		_, _ = io.WriteString(w, "ok")
	case r.URL.Path == "/api/v1":
		_, _ = io.WriteString(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[
			{"name":"namespaces","kind":"Namespace","namespaced":false},
			{"name":"configmaps","kind":"ConfigMap","namespaced":true},
			{"name":"pods","kind":"Pod","namespaced":true},
			{"name":"pods/log","kind":"Pod","namespaced":true}]}`)
	case r.URL.Path == "/apis/apps/v1":
		_, _ = io.WriteString(w, `{"resources":[{"name":"deployments","kind":"Deployment","namespaced":true}]}`)
	case r.URL.Path == "/apis/example.com/v1" && crd:
		_, _ = io.WriteString(w, `{"resources":[{"name":"widgets","kind":"Widget","namespaced":false}]}`)
	case r.Method == http.MethodPatch:
		_, _ = w.Write(body)
	case r.URL.Path == "/api/v1/namespaces/kube-system/configmaps" && r.Method == http.MethodGet:
		_, _ = io.WriteString(w, `{"kind":"ConfigMapList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"kube-system"}}]}`)
	case r.URL.Path == "/api/v1/namespaces/kube-system/configmaps/cm" && r.Method == http.MethodGet:
		_, _ = io.WriteString(w, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"kube-system"},"data":{"k":"v"}}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"kind":"Status","status":"Failure","reason":"NotFound","message":"the server could not find the requested resource","code":404}`)
	}
}

func (f *fakeAPI) patches() []request {
	f.mu.Lock()
	defer f.mu.Unlock()

	var out []request

	for _, r := range f.requests {
		if r.Method == http.MethodPatch {
			out = append(out, r)
		}
	}

	return out
}

func (f *fakeAPI) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()

	n := 0

	for _, r := range f.requests {
		if r.Path == path {
			n++
		}
	}

	return n
}

// start serves f over TLS requiring client certificates from one CA and
// returns a client with such a certificate.
func start(t *testing.T, f *fakeAPI) *kube.Client {
	t.Helper()

	ca, err := pki.NewCA(pki.CAOptions{CommonName: "kubernetes", Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	issuer, err := pki.ParseCA(ca)
	if err != nil {
		t.Fatal(err)
	}

	server, err := issuer.Issue(pki.CertOptions{
		Subject: pki.Subject{CommonName: "kube-apiserver", IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}},
		Usage:   pki.UsageServer, Validity: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}

	client, err := issuer.Issue(pki.CertOptions{
		Subject: pki.Subject{CommonName: "plinth:admin", Organization: []string{"system:masters"}},
		Usage:   pki.UsageClient, Validity: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}

	pair, err := tls.X509KeyPair(server.Crt, server.Key)
	if err != nil {
		t.Fatal(err)
	}

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.Crt)

	srv := httptest.NewUnstartedServer(f)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	c, err := kube.New(kube.Config{Server: srv.URL, CA: ca.Crt, Cert: client.Crt, Key: client.Key})
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(c.Close)

	return c
}

func TestApply(t *testing.T) {
	f := &fakeAPI{}
	c := start(t, f)
	ctx := context.Background()

	objs, err := kube.ParseYAML([]byte(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
spec:
  replicas: 2
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata:
      name: team-a
`))
	if err != nil {
		t.Fatal(err)
	}

	objs = kube.SortForApply(objs)
	if got := []string{objs[0].String(), objs[1].String(), objs[2].String()}; !slices.Equal(got,
		[]string{"Namespace team-a", "Deployment kube-system/coredns", "ConfigMap plain"}) {
		t.Errorf("apply order %q", got)
	}

	for _, o := range objs {
		if err := c.Apply(ctx, o); err != nil {
			t.Fatal(err)
		}
	}

	p := f.patches()
	if len(p) != 3 {
		t.Fatalf("%d patches", len(p))
	}

	wantPaths := []string{
		"/api/v1/namespaces/team-a",
		"/apis/apps/v1/namespaces/kube-system/deployments/coredns",
		"/api/v1/namespaces/default/configmaps/plain",
	}

	for i, r := range p {
		if r.Path != wantPaths[i] || r.ContentType != "application/apply-patch+yaml" ||
			r.Query != "fieldManager=plinth&force=true" || r.Client != "plinth:admin" {
			t.Errorf("patch %d: %+v", i, r)
		}
	}

	if spec, _ := p[1].Body["spec"].(map[string]any); spec["replicas"] != float64(2) {
		t.Errorf("deployment body %v", p[1].Body)
	}

	// Discovery is cached per group version.
	if n := f.count("/api/v1"); n != 1 {
		t.Errorf("/api/v1 discovered %d times", n)
	}
}

func TestUnknownKindThenCRD(t *testing.T) {
	f := &fakeAPI{}
	c := start(t, f)
	ctx := context.Background()

	widget := kube.Object{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}}

	err := c.Apply(ctx, widget)
	if !errors.Is(err, kube.ErrUnknownKind) {
		t.Fatalf("apply before the CRD: %v", err)
	}

	f.mu.Lock()
	f.crdReady = true
	f.mu.Unlock()

	if err := c.Apply(ctx, widget); err != nil {
		t.Fatalf("apply after the CRD: %v", err)
	}

	if p := f.patches(); len(p) != 1 || p[0].Path != "/apis/example.com/v1/widgets/w" {
		t.Errorf("patches %+v", p)
	}
}

func TestGetListReady(t *testing.T) {
	f := &fakeAPI{}
	c := start(t, f)
	ctx := context.Background()

	if err := c.Ready(ctx); err != nil {
		t.Fatal(err)
	}

	cm, err := c.GetObject(ctx, "v1", "ConfigMap", "kube-system", "cm")
	if err != nil || cm.Name() != "cm" || cm["data"].(map[string]any)["k"] != "v" {
		t.Fatalf("GetObject = %v, %v", cm, err)
	}

	_, err = c.GetObject(ctx, "v1", "ConfigMap", "kube-system", "missing")
	if !kube.IsNotFound(err) || !strings.Contains(err.Error(), "could not find") {
		t.Errorf("missing object: %v", err)
	}

	items, err := c.List(ctx, "v1", "ConfigMap", "kube-system", "app=x")
	if err != nil || len(items) != 1 || items[0].Name() != "a" {
		t.Fatalf("List = %v, %v", items, err)
	}

	f.mu.Lock()
	last := f.requests[len(f.requests)-1]
	f.mu.Unlock()

	if last.Query != "labelSelector=app%3Dx" {
		t.Errorf("list query %q", last.Query)
	}
}

func TestParseYAMLErrors(t *testing.T) {
	for _, in := range []string{"kind: ConfigMap\nmetadata: {name: x}\n", "apiVersion: v1\nkind: ConfigMap\n", "a: [\n"} {
		if _, err := kube.ParseYAML([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}
