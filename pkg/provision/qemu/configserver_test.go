package qemu

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestConfigServer(t *testing.T) {
	dir := t.TempDir()
	s := testSpec(dir)
	if err := os.WriteFile(s.Nodes[0].Config, []byte("version: v1alpha1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var served []string
	srv := newConfigServer(s, slog.New(slog.DiscardHandler), func(n string) { served = append(served, n) }, nil)
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

func TestConfigServerBundle(t *testing.T) {
	dir := t.TempDir()
	s := testSpec(dir)
	do := func(srv http.Handler, method, from string, header ...string) *http.Response {
		r := httptest.NewRequest(method, BundlePath, nil)
		r.RemoteAddr = from
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w.Result()
	}
	// Nodes that are not installed get no bundle.
	if got := do(newConfigServer(s, slog.New(slog.DiscardHandler), nil, nil), http.MethodGet, "10.5.0.2:1").StatusCode; got != http.StatusNotFound {
		t.Errorf("without a bundle: %d, want 404", got)
	}

	s.Bundle = filepath.Join(dir, BundleFile)
	content := strings.Repeat("manifest.json vmlinuz initramfs ", 1000)
	if err := os.WriteFile(s.Bundle, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var fetched []string
	srv := newConfigServer(s, slog.New(slog.DiscardHandler), nil, func(n string) { fetched = append(fetched, n) })

	for _, from := range []string{"10.5.0.2:40000", "10.5.0.3:40000"} { // every node of the cluster
		resp := do(srv, http.MethodGet, from)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != content || resp.Header.Get("Content-Length") != strconv.Itoa(len(content)) ||
			resp.Header.Get("Content-Type") != "application/x-tar" {
			t.Errorf("GET from %s: %d, %d bytes, %v", from, resp.StatusCode, len(body), resp.Header)
		}
	}
	resp := do(srv, http.MethodHead, "10.5.0.2:40001")
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("Content-Length") != strconv.Itoa(len(content)) {
		t.Errorf("HEAD: %d %d bytes %v", resp.StatusCode, len(body), resp.Header)
	}
	// A download cut short resumes with a range.
	resp = do(srv, http.MethodGet, "10.5.0.3:40002", "Range", "bytes=10-19")
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusPartialContent || string(body) != content[10:20] {
		t.Errorf("range: %d %q", resp.StatusCode, body)
	}
	if len(fetched) != 3 || fetched[0] != "demo-controlplane-1" || fetched[1] != "demo-worker-1" {
		t.Errorf("downloads counted %v: want the three GETs, by node", fetched)
	}

	for _, tc := range []struct {
		method, from string
		want         int
	}{
		{http.MethodGet, "10.5.0.1:1", http.StatusForbidden},  // the host
		{http.MethodGet, "10.5.0.9:1", http.StatusForbidden},  // a stranger on the network
		{http.MethodHead, "10.6.0.2:1", http.StatusForbidden}, // another network
		{http.MethodPut, "10.5.0.2:1", http.StatusMethodNotAllowed},
	} {
		if got := do(srv, tc.method, tc.from).StatusCode; got != tc.want {
			t.Errorf("%s from %s: %d, want %d", tc.method, tc.from, got, tc.want)
		}
	}
	if len(fetched) != 3 {
		t.Errorf("refused requests counted: %v", fetched)
	}

	if err := os.Remove(s.Bundle); err != nil {
		t.Fatal(err)
	}
	if got := do(srv, http.MethodGet, "10.5.0.2:1").StatusCode; got != http.StatusInternalServerError {
		t.Errorf("bundle gone: %d, want 500", got)
	}
}
