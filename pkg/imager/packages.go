package imager

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/plinth-os/plinth/pkg/imager/deb"
	"github.com/plinth-os/plinth/pkg/imager/fetch"
	"github.com/plinth-os/plinth/pkg/imager/inputs"
	"github.com/plinth-os/plinth/pkg/imager/modules"
)

// completeMarker marks a fully prepared package tree in the cache.
const completeMarker = ".plinth-complete"

// packageTree fetches a pinned package and returns the directory it is
// extracted to, <cache>/tree/<sha256>. prepare, when set, runs on the fresh
// tree before it is published (e.g. depmod). Trees are immutable once
// published: the key is the package's checksum, and a tree is renamed into
// place only once complete, so concurrent builds can share the cache.
func (b *builder) packageTree(ctx context.Context, p inputs.Package, prepare func(dir string) error) (string, error) {
	dir := filepath.Join(b.cfg.Cache, "tree", p.SHA256)
	if _, err := os.Stat(filepath.Join(dir, completeMarker)); err == nil {
		return dir, nil
	}
	cache := &fetch.Cache{Dir: b.cfg.Cache, Logf: b.logf}
	debPath, err := cache.Get(ctx, p)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("package %s: %w", p.Name, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".extract-")
	if err != nil {
		return "", fmt.Errorf("package %s: %w", p.Name, err)
	}
	defer os.RemoveAll(tmp)
	start := b.now()
	if err := deb.Extract(debPath, tmp); err != nil {
		return "", err
	}
	if prepare != nil {
		if err := prepare(tmp); err != nil {
			return "", fmt.Errorf("package %s: %w", p.Name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, completeMarker), nil, 0o644); err != nil {
		return "", fmt.Errorf("package %s: %w", p.Name, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another build (the cache is shared) published the tree first;
		// trees are complete before they are renamed into place.
		if _, serr := os.Stat(filepath.Join(dir, completeMarker)); serr == nil {
			return dir, nil
		}
		return "", fmt.Errorf("package %s: %w", p.Name, err)
	}
	b.logf("%-10s extracted %s in %s", "packages", p, b.now().Sub(start).Round(10e6))
	return dir, nil
}

// kernelTree prepares the kernel package with modules.dep.
func (b *builder) kernelTree(ctx context.Context) (string, error) {
	k := b.in.Kernel
	return b.packageTree(ctx, k.Package, func(dir string) error {
		if _, err := os.Stat(filepath.Join(dir, "boot", "vmlinuz-"+k.Release)); err != nil {
			return fmt.Errorf("kernel release %s: %w", k.Release, err)
		}
		return modules.Depmod(ctx, dir, k.Release)
	})
}
