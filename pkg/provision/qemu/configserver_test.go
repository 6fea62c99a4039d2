package qemu

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func TestConfigServer(t *testing.T) {
	dir := t.TempDir()
	s := testSpec(dir)
	if err := os.WriteFile(s.Nodes[0].Config, []byte("version: v1alpha1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var served []string
	srv := newConfigServer(s, slog.New(slog.DiscardHandler), func(n string) { served = append(served, n) })
	do := func(method, path, from string) *http.Response {
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = from
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w.Result()
	}

	resp := do(http.MethodGet, "/configs/demo-controlplane-1.yaml", "10.5.0.2:40000")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "version: v1alpha1\n" || resp.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	// The file is read at every request: an edited config is served.
	if err := os.WriteFile(s.Nodes[0].Config, []byte("edited\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	resp = do(http.MethodGet, "/configs/demo-controlplane-1.yaml", "[::ffff:10.5.0.2]:40001")
	if body, _ := io.ReadAll(resp.Body); string(body) != "edited\n" {
		t.Errorf("after an edit: %q", body)
	}
	resp = do(http.MethodHead, "/configs/demo-controlplane-1.yaml", "10.5.0.2:40002")
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("Content-Length") != "7" {
		t.Errorf("HEAD: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if len(served) != 2 || served[0] != "demo-controlplane-1" {
		t.Errorf("served %v: want the two GETs", served)
	}

	for _, tc := range []struct {
		method, path, from string
		want               int
	}{
		{http.MethodGet, "/configs/demo-controlplane-1.yaml", "10.5.0.3:1", http.StatusForbidden}, // another node
		{http.MethodGet, "/configs/demo-controlplane-1.yaml", "10.5.0.1:1", http.StatusForbidden}, // the host
		{http.MethodGet, "/configs/demo-worker-1.yaml", "10.5.0.3:1", http.StatusInternalServerError},
		{http.MethodGet, "/configs/nobody.yaml", "10.5.0.2:1", http.StatusNotFound},
		{http.MethodGet, "/configs/demo-controlplane-1", "10.5.0.2:1", http.StatusNotFound},
		{http.MethodGet, "/demo-controlplane-1.yaml", "10.5.0.2:1", http.StatusNotFound},
		{http.MethodGet, "/configs/../secrets.yaml", "10.5.0.2:1", http.StatusNotFound},
		{http.MethodPost, "/configs/demo-controlplane-1.yaml", "10.5.0.2:1", http.StatusMethodNotAllowed},
	} {
		if got := do(tc.method, tc.path, tc.from).StatusCode; got != tc.want {
			t.Errorf("%s %s from %s: %d, want %d", tc.method, tc.path, tc.from, got, tc.want)
		}
	}
	if len(served) != 2 {
		t.Errorf("refused requests counted as served: %v", served)
	}
}
