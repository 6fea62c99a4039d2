package imager

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"

	"github.com/plinth-os/plinth/pkg/imager/modules"
	"github.com/plinth-os/plinth/pkg/imager/rootfs"
)

// sources maps allowlist sources to the build's directories.
func (b *builder) sources(ctx context.Context) (rootfs.SourceMap, error) {
	outSources := b.cfg.OutSources
	if outSources == "" {
		outSources = b.cfg.Out
	}
	m := rootfs.SourceMap{
		Dirs: map[string]string{
			"out:":   outSources,
			"image:": b.cfg.ImageDir,
		},
		Files: map[string][]byte{"gen:os-release": osRelease(b.cfg.Version)},
	}
	kernelTree, err := b.kernelTree(ctx)
	if err != nil {
		return m, err
	}
	m.Dirs["deb:"+b.in.Kernel.Package.Name+"/"] = kernelTree
	for _, p := range b.in.Packages {
		dir, err := b.packageTree(ctx, p, nil)
		if err != nil {
			return m, err
		}
		m.Dirs["deb:"+p.Name+"/"] = dir
	}
	return m, nil
}

// rootfs stages the allowlist and the kernel.rootfsModules files, writes
// the manifest and the squashfs. It returns the rootfs modules' plan.
func (b *builder) rootfs(ctx context.Context) (modules.Plan, error) {
	allow, err := os.ReadFile(b.cfg.Allowlist)
	if err != nil {
		return modules.Plan{}, fmt.Errorf("rootfs: %w", err)
	}
	list, err := rootfs.Parse(bytes.NewReader(allow))
	if err != nil {
		return modules.Plan{}, fmt.Errorf("rootfs: %s: %w", b.cfg.Allowlist, err)
	}
	src, err := b.sources(ctx)
	if err != nil {
		return modules.Plan{}, err
	}
	k := b.in.Kernel
	kernelSource := "deb:" + k.Package.Name + "/"
	mods, err := planRootfsModules(src.Dirs[kernelSource], kernelSource, k.Release, k.RootfsModules)
	if err != nil {
		return modules.Plan{}, fmt.Errorf("rootfs: %w", err)
	}
	if err := list.Add(mods.Entries...); err != nil {
		return modules.Plan{}, fmt.Errorf("rootfs: kernel.rootfsModules with %s: %w", b.cfg.Allowlist, err)
	}
	maps.Copy(src.Files, mods.Files)
	squash := rootfs.SquashOptions{Compression: b.cfg.Compression, BlockSize: b.cfg.BlockSize}
	squashArgs, err := squash.Args()
	if err != nil {
		return modules.Plan{}, err
	}
	tool, err := rootfs.Version(ctx)
	if err != nil {
		return modules.Plan{}, err
	}
	key, err := b.rootfsKey(allow, list, src, mods, append(squashArgs, tool))
	if err != nil {
		return modules.Plan{}, fmt.Errorf("rootfs: %w", err)
	}
	ran, err := b.runStep(step{
		name: "rootfs", key: key, outputs: []string{b.out(Rootfs), b.out(Manifest)},
		run: func() error { return b.buildRootfs(ctx, list, src, squash) },
	})
	b.mark(ran, Rootfs, Manifest)
	return mods.Plan, err
}

// rootfsKey hashes what the rootfs step reads: the allowlist, the kernel
// package and kernel.rootfsModules with the entries generated for them,
// the bytes of every file entry's source, and the mksquashfs options.
func (b *builder) rootfsKey(allow []byte, list *rootfs.Allowlist, src rootfs.Sources, mods *rootfsModules, squash []string) (string, error) {
	k := b.in.Kernel
	kr, key := newKeyer()
	kr.add("allowlist", string(allow))
	kr.add("kernel", k.Package.SHA256, k.Release)
	kr.add("rootfs-modules", k.RootfsModules...)
	mods.key(kr)
	kr.add("squashfs", squash...)
	for _, e := range list.Entries {
		if e.Type != rootfs.TypeFile {
			continue
		}
		r, err := src.Open(e.Source)
		if err != nil {
			if e.Line == 0 {
				return "", fmt.Errorf("%s: %w", e.Path, err)
			}
			return "", fmt.Errorf("line %d: %w", e.Line, err)
		}
		err = kr.reader(e.Source, r)
		r.Close()
		if err != nil {
			return "", err
		}
	}
	return key(), nil
}

func (b *builder) buildRootfs(ctx context.Context, list *rootfs.Allowlist, src rootfs.Sources, squash rootfs.SquashOptions) error {
	stage, err := os.MkdirTemp(b.cfg.Out, ".rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	root := filepath.Join(stage, "root")
	if err := rootfs.Stage(list, src, root); err != nil {
		return err
	}
	lines, err := rootfs.Manifest(root)
	if err != nil {
		return err
	}
	tmp := filepath.Join(stage, Rootfs)
	if err := rootfs.Squash(ctx, root, tmp, squash); err != nil {
		return err
	}
	if err := writeAtomic(b.out(Manifest), func(w io.Writer) error { return rootfs.FormatManifest(w, lines) }); err != nil {
		return err
	}
	return os.Rename(tmp, b.out(Rootfs))
}
