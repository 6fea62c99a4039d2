// Package imager builds Plinth's boot artifacts from pinned inputs:
//
//	image/inputs.yaml ─▶ kernel .deb (fetched, sha256-checked, cached)
//	                      ├─▶ vmlinuz            (copied)
//	                      ├─▶ vmlinux            (payload of vmlinuz, decompressed)
//	                      └─▶ modules + order    (depmod -b, modules.dep)
//	image/rootfs.allow + _out/plinth ─▶ rootfs.sqsh, rootfs-manifest.txt
//	  + kernel.rootfsModules (closure, modules.dep) ─▶ /usr/lib/modules/<release>
//	init (_out/plinth), modules, rootfs.sqsh ─▶ initramfs (uncompressed newc cpio)
//	vmlinuz, initramfs, version ─▶ boot-bundle.tar (pkg/machinery/bundle: what
//	                                machined installs into a boot slot)
//
// Every step is incremental: it runs only when the hash of what it reads
// changed or an output is missing.
package imager

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/plinth-os/plinth/pkg/imager/initramfs"
	"github.com/plinth-os/plinth/pkg/imager/inputs"
	"github.com/plinth-os/plinth/pkg/imager/kernel"
	"github.com/plinth-os/plinth/pkg/imager/modules"
	"github.com/plinth-os/plinth/pkg/imager/rootfs"
	"github.com/plinth-os/plinth/pkg/machinery/bundle"
)

// Output file names in Config.Out.
const (
	Vmlinuz   = "vmlinuz"
	Vmlinux   = "vmlinux"
	Initramfs = "initramfs"
	Rootfs    = "rootfs.sqsh"
	Manifest  = "rootfs-manifest.txt"
	Bundle    = "boot-bundle.tar"
)

// DefaultCompression is the squashfs compressor. Measured under TCG
// (docs/image.md): the squashfs sits in the uncompressed initramfs, which
// the kernel copies before init runs, so a smaller image boots faster once
// the rootfs holds Kubernetes (zstd 1.2 s sooner to the maintenance banner
// than lz4 on the 300 MB tree); pages are decompressed lazily and zstd's
// cost there was within noise of lz4's; xz was about 1 s slower.
const DefaultCompression = rootfs.CompZstd

// extractorVersion changes the vmlinux key when the extraction changes.
const extractorVersion = "1"

// Config is what Build reads and where it writes.
type Config struct {
	// Inputs is image/inputs.yaml.
	Inputs string
	// Allowlist is image/rootfs.allow.
	Allowlist string
	// ImageDir resolves image: sources (image/).
	ImageDir string
	// Out is the output directory (_out).
	Out string
	// OutSources is where out: sources of the allowlist resolve (Out when
	// empty), so an image can be built into another directory.
	OutSources string
	// Init is the static binary written as the initramfs's /init: the
	// multi-call plinth binary (_out/plinth), or any static program that
	// runs initapp.Main. The rootfs takes its binaries from the allowlist.
	Init string
	// Cache keeps downloaded packages and extracted trees.
	Cache string
	// Compression is the squashfs compressor (DefaultCompression when empty).
	Compression rootfs.Compression
	// BlockSize is the squashfs block size (0: rootfs.DefaultBlockSize).
	BlockSize int
	// Version is the Plinth version: it goes into os-release and the boot
	// bundle's manifest ("dev" when empty).
	Version string
	// Force rebuilds every step.
	Force bool
	// Logf reports progress; silent when nil.
	Logf func(format string, args ...any)
}

// Artifact is one output file.
type Artifact struct {
	// Name is the file name in Config.Out.
	Name string
	// Path is the file's path.
	Path string
	// Size is its length in bytes.
	Size int64
	// Built is false when the step was up to date.
	Built bool
}

// Result lists what Build produced.
type Result struct {
	// Artifacts are vmlinuz, vmlinux, the initramfs, rootfs.sqsh, the
	// rootfs manifest and the boot bundle.
	Artifacts []Artifact
	// Bundle is the manifest of the boot bundle.
	Bundle bundle.Manifest
	// Modules are the module files in the initramfs, in load order.
	Modules []string
	// BuiltinModules were requested but are part of the kernel.
	BuiltinModules []string
	// RootfsModules are the module files in the rootfs for machined
	// (kernel.rootfsModules and their dependencies), in load order.
	RootfsModules []string
	// RootfsBuiltinModules are kernel.rootfsModules built into the kernel.
	RootfsBuiltinModules []string
}

type builder struct {
	cfg   Config
	in    *inputs.Inputs
	now   func() time.Time
	built map[string]bool
}

// Build runs every step that is out of date.
func Build(ctx context.Context, cfg Config) (*Result, error) {
	in, err := inputs.Load(cfg.Inputs)
	if err != nil {
		return nil, err
	}
	if cfg.Compression == "" {
		cfg.Compression = DefaultCompression
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("imager: %w", err)
	}
	if err := initramfs.CheckInit(cfg.Init); err != nil {
		return nil, err
	}
	b := &builder{cfg: cfg, in: in, now: time.Now, built: map[string]bool{}}
	tree, err := b.kernelTree(ctx)
	if err != nil {
		return nil, err
	}
	if err := b.kernelImages(ctx, tree); err != nil {
		return nil, err
	}
	rootfsPlan, err := b.rootfs(ctx)
	if err != nil {
		return nil, err
	}
	plan, err := b.initramfs(tree)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Modules: plan.Paths, BuiltinModules: plan.Builtin,
		RootfsModules: rootfsPlan.Paths, RootfsBuiltinModules: rootfsPlan.Builtin,
	}
	if res.Bundle, err = b.bootBundle(); err != nil {
		return nil, err
	}
	for _, name := range []string{Vmlinuz, Vmlinux, Initramfs, Rootfs, Manifest, Bundle} {
		p := filepath.Join(cfg.Out, name)
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("imager: %w", err)
		}
		res.Artifacts = append(res.Artifacts, Artifact{Name: name, Path: p, Size: st.Size(), Built: b.built[name]})
	}
	return res, nil
}

func (b *builder) logf(format string, args ...any) {
	if b.cfg.Logf != nil {
		b.cfg.Logf(format, args...)
	}
}

func (b *builder) out(name string) string { return filepath.Join(b.cfg.Out, name) }

func (b *builder) mark(ran bool, names ...string) {
	for _, n := range names {
		b.built[n] = ran
	}
}

// kernelImages writes vmlinuz and the vmlinux extracted from it.
func (b *builder) kernelImages(ctx context.Context, tree string) error {
	k := b.in.Kernel
	src := filepath.Join(tree, "boot", "vmlinuz-"+k.Release)
	ran, err := b.runStep(step{
		name: Vmlinuz, key: k.Package.SHA256 + " " + k.Release, outputs: []string{b.out(Vmlinuz)},
		run: func() error {
			data, err := os.ReadFile(src)
			if err != nil {
				return err
			}
			return writeAtomic(b.out(Vmlinuz), func(w io.Writer) error { _, err := w.Write(data); return err })
		},
	})
	b.mark(ran, Vmlinuz)
	if err != nil {
		return err
	}
	ran, err = b.runStep(step{
		name: Vmlinux, key: k.Package.SHA256 + " " + k.Release + " " + extractorVersion, outputs: []string{b.out(Vmlinux)},
		run: func() error {
			bz, err := os.ReadFile(src)
			if err != nil {
				return err
			}
			elf, err := kernel.Extract(ctx, bz)
			if err != nil {
				return err
			}
			return writeAtomic(b.out(Vmlinux), func(w io.Writer) error { _, err := w.Write(elf); return err })
		},
	})
	b.mark(ran, Vmlinux)
	return err
}

// initramfs resolves the modules and writes the cpio archive.
func (b *builder) initramfs(tree string) (modules.Plan, error) {
	k := b.in.Kernel
	ix, err := modules.Load(tree, k.Release)
	if err != nil {
		return modules.Plan{}, err
	}
	plan, err := ix.Resolve(k.Modules)
	if err != nil {
		return modules.Plan{}, err
	}
	spec := initramfs.Spec{
		Init: b.cfg.Init, ModulesDir: filepath.Join(tree, "lib", "modules", k.Release),
		Release: k.Release, Modules: plan.Paths, Rootfs: b.out(Rootfs),
	}
	kr, key := newKeyer()
	kr.add("kernel", k.Package.SHA256, k.Release)
	kr.add("modules", plan.Paths...)
	if err := kr.file("init", spec.Init); err != nil {
		return plan, fmt.Errorf("initramfs: %w", err)
	}
	if err := kr.file("rootfs", spec.Rootfs); err != nil {
		return plan, fmt.Errorf("initramfs: %w", err)
	}
	ran, err := b.runStep(step{
		name: Initramfs, key: key(), outputs: []string{b.out(Initramfs)},
		run: func() error {
			return writeAtomic(b.out(Initramfs), func(w io.Writer) error { return initramfs.Write(w, spec) })
		},
	})
	b.mark(ran, Initramfs)
	return plan, err
}

// osRelease is the generated /usr/lib/os-release.
func osRelease(version string) []byte {
	version = versionOrDev(version)
	var b bytes.Buffer
	fmt.Fprintf(&b, "NAME=\"Plinth\"\nID=plinth\nVERSION=%q\nVERSION_ID=%q\nPRETTY_NAME=\"Plinth %s\"\n", version, version, version)
	b.WriteString("HOME_URL=\"https://github.com/plinth-os/plinth\"\n")
	return b.Bytes()
}

// versionOrDev is version, or "dev" when it is empty.
func versionOrDev(version string) string {
	if version == "" {
		return "dev"
	}
	return version
}
