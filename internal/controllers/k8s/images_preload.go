package k8s

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/sys/containerd"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// PreloadedImagesDir holds the image archives the node image ships
// (pause, CoreDNS, flannel): no registry is needed to start a cluster.
const PreloadedImagesDir = "/usr/share/plinth/images"

// DefaultImagesRetry is the wait before importing failed archives again.
const DefaultImagesRetry = 10 * time.Second

// ImportFunc imports the image archive file (a host path) into namespace
// of the containerd serving socket (a host path).
type ImportFunc func(ctx context.Context, socket, namespace, file string) ([]containerd.Image, error)

// ImagesController imports the preloaded image archives into containerd's
// Kubernetes namespace each time containerd comes up healthy, and reports
// them in the PreloadedImages resource.
//
//	containerd not healthy ──healthy──▶ import every *.tar ──all ok──▶ done
//	        ▲                                   │ some failed
//	        │ containerd stops (a restart       ▼
//	        │ imports again)           retry after RetryInterval
//
// Complete becomes true after the first attempt at every archive and
// stays true, so the kubelet starts once, whatever the outcome (a missing
// image then shows as a pod's error, not as a node without kubelet).
type ImagesController struct {
	// Root is the file-system root (archives and socket are joined to it).
	Root string
	// Import imports one archive; nil means containerd.ImportArchive.
	Import ImportFunc
	// RetryInterval is the wait before a failed archive is tried again.
	RetryInterval time.Duration

	done     bool // every archive imported since containerd came up
	complete bool // every archive attempted at least once
}

// Name implements runtime.Controller.
func (*ImagesController) Name() string { return "k8s.ImagesController" }

// Inputs implements runtime.Controller.
func (*ImagesController) Inputs() []runtime.Input {
	return []runtime.Input{{Namespace: rtres.NamespaceName, Type: rtres.ServiceType, ID: ContainerdServiceID}}
}

// Outputs implements runtime.Controller.
func (*ImagesController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: k8s.PreloadedImagesType}}
}

// Run implements runtime.Controller.
func (c *ImagesController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	retry := c.RetryInterval
	if retry <= 0 {
		retry = DefaultImagesRetry
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		case <-timer.C:
		}
		failed, err := c.reconcile(ctx, r, logger)
		if err != nil {
			return err
		}
		if failed {
			timer.Reset(retry)
		}
	}
}

// reconcile imports when containerd is healthy and the archives were not
// all imported since it came up; it reports whether any failed.
func (c *ImagesController) reconcile(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) (bool, error) {
	svc, err := read.Typed[rtres.ServiceSpec](ctx, r, rtres.NewService(ContainerdServiceID).Metadata().Ref())
	if err != nil {
		return false, err
	}
	if svc == nil || !svc.TypedSpec().Running || !svc.TypedSpec().Healthy || svc.TypedSpec().Unknown {
		c.done = false
		return false, nil
	}
	if c.done {
		return false, nil
	}
	files, err := c.archives()
	if err != nil {
		return false, err
	}
	spec := k8s.PreloadedImagesSpec{Images: make([]k8s.PreloadedImage, 0, len(files))}
	failed := false
	for _, f := range files {
		img := c.importOne(ctx, f)
		if img.Error != "" {
			failed = true
			logger.Warn("preloaded image not imported", "file", f, "error", img.Error)
		} else {
			spec.Names = append(spec.Names, img.Names...)
		}
		spec.Images = append(spec.Images, img)
	}
	sort.Strings(spec.Names)
	c.complete = true
	c.done = !failed
	spec.Complete = c.complete
	if !failed {
		logger.Info("preloaded images imported", "images", spec.Names)
	}
	err = runtime.ModifyTyped(ctx, r, k8s.NewPreloadedImages(), func(res *k8s.PreloadedImages) error {
		*res.TypedSpec() = spec
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("preloaded images: %w", err)
	}
	return failed, nil
}

// importOne imports one archive (a node path) and describes the outcome.
func (c *ImagesController) importOne(ctx context.Context, file string) k8s.PreloadedImage {
	out := k8s.PreloadedImage{File: file}
	imp := c.Import
	if imp == nil {
		imp = containerd.ImportArchive
	}
	imgs, err := imp(ctx, filepath.Join(c.Root, ContainerdSocket), ContainerdNamespace, filepath.Join(c.Root, file))
	for _, img := range imgs {
		out.Names = append(out.Names, img.Name)
		if out.Digest == "" {
			out.Digest = img.Digest
		}
	}
	if err != nil {
		out.Error = err.Error()
	}
	out.Imported = err == nil && len(imgs) > 0
	return out
}

// archives lists the *.tar files of PreloadedImagesDir as node paths,
// sorted; a missing directory holds none.
func (c *ImagesController) archives() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(c.Root, PreloadedImagesDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("preloaded images: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".tar") {
			out = append(out, path.Join(PreloadedImagesDir, e.Name()))
		}
	}
	return out, nil
}
