package services

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

func TestWaitURLCondition(t *testing.T) {
	waitURLInterval = time.Millisecond
	var accept atomic.Bool
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if r.Header.Get("Authorization") != "Bearer abc.def" || !accept.Load() {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "token"), []byte("abc.def\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := rtres.ServiceConfigSpec{Args: []string{"/bin/x"}, WaitURL: &rtres.WaitURL{
		URL: srv.URL + "/apis", BearerTokenFile: "/token", UnlessFile: "/cert.pem",
	}}
	c := &configured{id: "x", spec: spec, opts: RunOptions{Root: root}}

	// Refused: the condition does not pass.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := c.Condition().Wait(ctx)
	cancel()
	if err == nil || asked.Load() == 0 {
		t.Fatalf("condition passed while the server refused the token (%d GETs): %v", asked.Load(), err)
	}
	// Accepted: it passes.
	accept.Store(true)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Condition().Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// The file skips the wait without asking.
	accept.Store(false)
	if err := os.WriteFile(filepath.Join(root, "cert.pem"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := asked.Load()
	if err := c.Condition().Wait(ctx); err != nil || asked.Load() != before {
		t.Fatalf("with the unless file: %v, %d more GETs", err, asked.Load()-before)
	}
}
