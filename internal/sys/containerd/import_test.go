package containerd_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/sys/containerd"
)

// repoOut returns <checkout>/_out/<rel>, skipping when it is missing.
func repoOut(t *testing.T, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "..", "_out", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s missing (make programs images): %v", rel, err)
	}
	return p
}

// TestImportArchive runs the real containerd as root in a scratch
// directory and imports the pause image archive twice.
func TestImportArchive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: containerd unpacks with mounts")
	}
	bin := repoOut(t, "programs/containerd")
	archive := repoOut(t, "images/pause.tar")

	dir, err := os.MkdirTemp("", "ctd") // short: the socket path is limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	socket := filepath.Join(dir, "c.sock")
	cfg := fmt.Sprintf("version = 4\nroot = %q\nstate = %q\n[plugins.\"io.containerd.server.v1.grpc\"]\n  address = %q\n"+
		"[plugins.\"io.containerd.server.v1.ttrpc\"]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), socket, socket+".ttrpc")
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", filepath.Join(dir, "config.toml"), "--log-level", "warn")
	out, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
			t.Logf("containerd log:\n%s", b)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("unix", socket)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not listen: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 2 {
		imgs, err := containerd.ImportArchive(ctx, socket, "k8s.io", archive)
		if err != nil {
			t.Fatal(err)
		}
		names := make([]string, len(imgs))
		for i, img := range imgs {
			names[i] = img.Name
			if img.Digest == "" {
				t.Errorf("%s has no digest", img.Name)
			}
		}
		if !slices.Contains(names, "registry.k8s.io/pause:3.10") {
			t.Fatalf("imported %v", names)
		}
	}
}
