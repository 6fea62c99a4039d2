package k8s

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/sys/containerd"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// fakeImporter records imports; files named in fail fail once.
type fakeImporter struct {
	mu    sync.Mutex
	calls []string
	fail  map[string]bool
}

func (f *fakeImporter) importArchive(_ context.Context, socket, namespace, file string) ([]containerd.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, filepath.Base(file))
	if namespace != ContainerdNamespace || filepath.Base(socket) != "containerd.sock" {
		return nil, errors.New("wrong namespace or socket")
	}
	if f.fail[filepath.Base(file)] {
		delete(f.fail, filepath.Base(file))
		return nil, errors.New("boom")
	}
	return []containerd.Image{{Name: "example/" + filepath.Base(file), Digest: "sha256:0"}}, nil
}

func (f *fakeImporter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func setContainerdService(t *testing.T, st runtime.State, spec rtres.ServiceSpec) {
	t.Helper()
	err := runtime.ModifyTyped(context.Background(), st, rtres.NewService(ContainerdServiceID), func(s *rtres.Service) error {
		*s.TypedSpec() = spec
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestImagesController(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, PreloadedImagesDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"pause.tar", "coredns.tar", "README"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	imp := &fakeImporter{fail: map[string]bool{"coredns.tar": true}}
	h := ctest.New(t, &ImagesController{Root: root, Import: imp.importArchive, RetryInterval: 10 * time.Millisecond})
	h.Start(t)

	get := func() *k8s.PreloadedImages {
		return ctest.Get[k8s.PreloadedImagesSpec](t, h.State, k8s.NamespaceName, k8s.PreloadedImagesType, k8s.PreloadedImagesID)
	}

	// Not before containerd is healthy.
	setContainerdService(t, h.State, rtres.ServiceSpec{State: "Running", Running: true, Healthy: true, Unknown: true})
	time.Sleep(50 * time.Millisecond)
	if imp.count() != 0 || get() != nil {
		t.Fatal("imported before containerd was healthy")
	}

	setContainerdService(t, h.State, rtres.ServiceSpec{State: "Running", Running: true, Healthy: true})
	ctest.Eventually(t, "both imported after a retry", func() bool {
		r := get()
		return r != nil && r.TypedSpec().Complete && len(r.TypedSpec().Names) == 2
	})
	spec := get().TypedSpec()
	if spec.Images[0].File != PreloadedImagesDir+"/coredns.tar" || !spec.Images[0].Imported || spec.Images[0].Error != "" {
		t.Fatalf("images = %+v", spec.Images)
	}
	calls := imp.count()
	if calls != 4 {
		t.Fatalf("%d imports, want 4 (coredns failed once, then both again)", calls)
	}

	// A containerd restart imports again.
	setContainerdService(t, h.State, rtres.ServiceSpec{State: "Stopped"})
	time.Sleep(50 * time.Millisecond)
	setContainerdService(t, h.State, rtres.ServiceSpec{State: "Running", Running: true, Healthy: true})
	ctest.Eventually(t, "imported again", func() bool { return imp.count() == calls+2 })
	imp.mu.Lock()
	defer imp.mu.Unlock()
	if !slices.Contains(imp.calls, "pause.tar") || slices.Contains(imp.calls, "README") {
		t.Fatalf("calls = %v", imp.calls)
	}
}
