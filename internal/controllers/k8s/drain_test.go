package k8s

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/kube"
)

// fakeDrainAPI serves a node with three pods: one of a DaemonSet, one
// static (mirror) pod and one a disruption budget refuses once.
type fakeDrainAPI struct {
	mu        sync.Mutex
	cordoned  bool
	evictions []string
	refused   bool
	gone      bool
}

func (f *fakeDrainAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPatch && r.URL.Path == "/api/v1/nodes/n1":
		body, _ := io.ReadAll(r.Body)
		f.cordoned = strings.Contains(string(body), `"unschedulable":true`)
		w.Write([]byte(`{}`))
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/pods":
		if r.URL.Query().Get("fieldSelector") != "spec.nodeName=n1" {
			http.Error(w, "bad selector", http.StatusBadRequest)
			return
		}
		items := `{"metadata":{"name":"ds","namespace":"kube-system","ownerReferences":[{"kind":"DaemonSet"}]}},` +
			`{"metadata":{"name":"static","namespace":"kube-system","annotations":{"kubernetes.io/config.mirror":"x"}}}`
		if !f.gone {
			items += `,{"metadata":{"name":"web","namespace":"default"},"status":{"phase":"Running"}}`
		}
		w.Write([]byte(`{"items":[` + items + `]}`))
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/eviction"):
		f.evictions = append(f.evictions, r.URL.Path)
		if !f.refused {
			f.refused = true
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"kind":"Status","reason":"TooManyRequests","message":"budget"}`))
			return
		}
		f.gone = true
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{}`))
	default:
		http.NotFound(w, r)
	}
}

func TestDrain(t *testing.T) {
	drainPoll = 10 * time.Millisecond
	f := &fakeDrainAPI{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := kube.New(kube.Config{Server: srv.URL, Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := drain(ctx, c, "n1", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if !f.cordoned {
		t.Error("node not cordoned")
	}
	want := "/api/v1/namespaces/default/pods/web/eviction"
	if len(f.evictions) != 2 || f.evictions[0] != want || f.evictions[1] != want {
		t.Errorf("evictions %v, want web twice (refused once by its budget)", f.evictions)
	}
}
