package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plinth-os/plinth/pkg/imager/inputs"
)

func pin(content, url string) inputs.Package {
	sum := sha256.Sum256([]byte(content))
	return inputs.Package{Name: "pkg", Version: "1", Arch: "amd64", SHA256: hex.EncodeToString(sum[:]),
		Size: int64(len(content)), URL: url}
}

func TestGetDownloadsOnceAndVerifies(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/good.deb" {
			_, _ = w.Write([]byte("debian package"))
			return
		}
		_, _ = w.Write([]byte("debian pockage"))
	}))
	defer srv.Close()
	noFallback := func(context.Context, inputs.Package, string) (string, error) {
		return "", errors.New("no fallback in tests")
	}
	c := &Cache{Dir: t.TempDir(), Fallback: noFallback}

	p := pin("debian package", srv.URL+"/good.deb")
	for range 2 {
		got, err := c.Get(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.Path(p) {
			t.Fatalf("path %s, want %s", got, c.Path(p))
		}
	}
	if hits.Load() != 1 {
		t.Errorf("downloaded %d times, want once", hits.Load())
	}

	bad := pin("debian package", srv.URL+"/bad.deb")
	bad.SHA256 = strings.Repeat("0", 64)
	if _, err := c.Get(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("tampered package: got %v", err)
	}
	if _, err := os.Stat(c.Path(bad)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tampered package was cached: %v", err)
	}
}

func TestGetFallsBack(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	p := pin("from apt", srv.URL+"/gone.deb")
	c := &Cache{Dir: t.TempDir(), Fallback: func(_ context.Context, _ inputs.Package, dir string) (string, error) {
		f := filepath.Join(dir, "pkg_1_amd64.deb")
		return f, os.WriteFile(f, []byte("from apt"), 0o644)
	}}
	if _, err := c.Get(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if err := Verify(c.Path(p), p); err != nil {
		t.Fatal(err)
	}
}
