// Command mkimage is what `make image-container` runs: it builds the
// container-mode node image from _out/rootfs.sqsh, writes it as a
// `docker save` tarball and, with -load, loads it into the local Docker
// daemon.
//
//	go run ./pkg/imager/container/mkimage -rootfs _out/rootfs.sqsh \
//	    -version v0.1.0 -o _out/plinth-node.tar -load
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/plinth-os/plinth/pkg/imager/container"
	"github.com/plinth-os/plinth/pkg/provision/docker/engine"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var opts container.Options
	var tags stringList
	var load bool
	flag.StringVar(&opts.Rootfs, "rootfs", "_out/rootfs.sqsh", "squashfs root file system of the VM image")
	flag.StringVar(&opts.Version, "version", "dev", "Plinth version: the image label and the tag "+container.Repository+":<version>")
	flag.StringVar(&opts.Output, "o", "_out/plinth-node.tar", "tarball to write")
	flag.Var(&tags, "tag", "extra image reference; repeatable (default: "+container.Repository+":latest)")
	flag.BoolVar(&load, "load", false, "load the tarball into the Docker daemon ($DOCKER_HOST)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "mkimage: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if len(tags) == 0 {
		tags = stringList{container.Repository + ":latest"}
	}
	opts.Tags = append([]string{container.Repository + ":" + container.TagFor(opts.Version)}, tags...)
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		secs, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mkimage: SOURCE_DATE_EPOCH %q: expected seconds since the epoch\n", s)
			os.Exit(2)
		}
		opts.Created = time.Unix(secs, 0)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts, load); err != nil {
		fmt.Fprintf(os.Stderr, "mkimage: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts container.Options, load bool) error {
	start := time.Now()
	res, err := container.Build(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s (%.1f MiB, layer %.1f MiB) in %s: image %s\n", opts.Output,
		float64(res.Size)/(1<<20), float64(res.LayerSize)/(1<<20), time.Since(start).Round(time.Millisecond), res.ID)
	if !load {
		return nil
	}
	c, err := engine.FromEnv()
	if err != nil {
		return err
	}
	if err := c.Ping(ctx); err != nil {
		return fmt.Errorf("%w (start one with hack/ensure-docker.sh, or build without -load)", err)
	}
	previous := map[string]bool{}
	for _, tag := range opts.Tags {
		if img, err := c.ImageInspect(ctx, tag); err == nil && img.ID != res.ID {
			previous[img.ID] = true
		}
	}
	f, err := os.Open(opts.Output)
	if err != nil {
		return err
	}
	defer f.Close()
	lines, err := c.ImageLoad(ctx, f)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	// The images these tags named before are untagged now: remove them
	// unless something else (a tag, a container) still uses them.
	for id := range previous {
		if img, err := c.ImageInspect(ctx, id); err == nil && len(img.RepoTags) == 0 {
			if err := c.ImageRemove(ctx, id); err == nil {
				fmt.Printf("removed the previous image %s\n", id)
			}
		}
	}
	return nil
}
