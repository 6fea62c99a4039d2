// Command imager builds Plinth's boot artifacts into _out: vmlinuz,
// vmlinux, initramfs, rootfs.sqsh, rootfs-manifest.txt and boot-bundle.tar,
// from the pinned inputs in image/ and the binaries of `make build`. Steps whose
// inputs did not change are skipped. It prints the artifacts' sizes and the
// kernel modules of the initramfs and of the rootfs. See docs/image.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/plinth-os/plinth/pkg/imager"
	"github.com/plinth-os/plinth/pkg/imager/rootfs"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("imager", flag.ContinueOnError)
	cfg := imager.Config{}
	var comp string
	fs.StringVar(&cfg.Inputs, "inputs", "image/inputs.yaml", "pinned inputs")
	fs.StringVar(&cfg.Allowlist, "allow", "image/rootfs.allow", "rootfs allowlist")
	fs.StringVar(&cfg.ImageDir, "image-dir", "image", "directory of image: sources")
	fs.StringVar(&cfg.Out, "out", "_out", "output directory")
	fs.StringVar(&cfg.OutSources, "out-sources", "", "directory of the allowlist's out: sources (default <out>)")
	fs.StringVar(&cfg.Init, "init", "", "static binary for the initramfs's /init (default <out>/plinth)")
	fs.StringVar(&cfg.Cache, "cache", defaultCache(), "download and extraction cache")
	fs.StringVar(&comp, "squashfs-comp", string(imager.DefaultCompression), "squashfs compression: zstd, lz4, xz, gzip or lzo")
	fs.IntVar(&cfg.BlockSize, "squashfs-block", 0, "squashfs block size in bytes (0: 1 MiB)")
	fs.StringVar(&cfg.Version, "version", "dev", "Plinth version written to os-release and the boot bundle's manifest")
	fs.BoolVar(&cfg.Force, "force", false, "rebuild every step")
	quiet := fs.Bool("quiet", false, "print only the sizes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "imager: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var err error
	if cfg.Compression, err = rootfs.ParseCompression(comp); err != nil {
		fmt.Fprintf(os.Stderr, "imager: %v\n", err)
		return 2
	}
	if cfg.Init == "" {
		cfg.Init = filepath.Join(cfg.Out, "plinth")
	}
	if _, err := os.Stat(cfg.Init); err != nil {
		fmt.Fprintf(os.Stderr, "imager: %v (run make build first)\n", err)
		return 1
	}
	if !*quiet {
		cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, "imager: "+format+"\n", args...) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := imager.Build(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "imager: %v\n", err)
		return 1
	}
	printSizes(res, cfg)
	return 0
}

func defaultCache() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "plinth")
	}
	return filepath.Join("_out", "cache")
}

func printSizes(res *imager.Result, cfg imager.Config) {
	for _, a := range res.Artifacts {
		state := "up to date"
		if a.Built {
			state = "built"
		}
		fmt.Printf("%-20s %10d bytes %8.1f MiB  %s\n", a.Path, a.Size, float64(a.Size)/(1<<20), state)
	}
	fmt.Printf("boot bundle         %s (kernel %s, %s)\n", res.Bundle.Version, res.Bundle.KernelRelease, res.Bundle.Arch)
	fmt.Printf("rootfs compression  %s\n", cfg.Compression)
	fmt.Printf("modules (load order) %s\n", moduleNames(res.Modules))
	if len(res.BuiltinModules) > 0 {
		fmt.Printf("built into the kernel %s\n", strings.Join(res.BuiltinModules, " "))
	}
	if len(res.RootfsModules) > 0 {
		fmt.Printf("rootfs modules (machined, load order) %s\n", moduleNames(res.RootfsModules))
	}
	if len(res.RootfsBuiltinModules) > 0 {
		fmt.Printf("rootfs modules built into the kernel %s\n", strings.Join(res.RootfsBuiltinModules, " "))
	}
}

// moduleNames turns module file paths into their names, space-separated.
func moduleNames(paths []string) string {
	names := make([]string, len(paths))
	for i, m := range paths {
		names[i] = strings.TrimSuffix(filepath.Base(m), ".ko")
	}
	return strings.Join(names, " ")
}
