// Package container builds the Docker image of a container-mode Plinth
// node from the root file system of the VM image, so that both run the
// same files:
//
//	_out/rootfs.sqsh ─unsquashfs─▶ tree ─▶ one layer (tar, gzip)
//	                                        + config (entrypoint: plinth machined --mode container)
//	                                        ─▶ _out/plinth-node.tar (docker save format)
//
// The image is never pulled: `make image-container` writes the tarball and
// loads it into the local Docker daemon as plinth/node:<version> and
// plinth/node:latest.
package container

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Repository is the node image's repository name.
const Repository = "plinth/node"

// Entrypoint runs machined as PID 1 of the container.
var Entrypoint = []string{"/usr/bin/plinth", "machined", "--mode", "container"}

// Labels of the image.
const (
	LabelTitle   = "org.opencontainers.image.title"
	LabelVersion = "org.opencontainers.image.version"
)

// Options describe the image to build.
type Options struct {
	// Rootfs is the squashfs root file system of the VM image.
	Rootfs string
	// Version is the Plinth version (a label of the image).
	Version string
	// Tags are the references the tarball names, e.g. plinth/node:v0.1.0.
	Tags []string
	// Output is the tarball to write.
	Output string
	// Created is the image's creation time and the layer's file times
	// (zero: the Unix epoch, for reproducible images).
	Created time.Time
	// Unsquash extracts a squashfs image into an empty directory;
	// unsquashfs when nil.
	Unsquash func(ctx context.Context, image, dir string) error
}

// Result describes the written image.
type Result struct {
	// ID is the image id (the digest of its config), as docker shows it.
	ID string
	// Tags are the references in the tarball.
	Tags []string
	// LayerSize is the compressed size of the layer.
	LayerSize int64
	// Size is the tarball's size.
	Size int64
}

// Build writes the node image to opts.Output.
func Build(ctx context.Context, opts Options) (*Result, error) {
	if len(opts.Tags) == 0 {
		return nil, errors.New("node image: no tags")
	}
	refs := map[name.Reference]v1.Image{}
	tags := make([]name.Tag, 0, len(opts.Tags))
	for _, t := range opts.Tags {
		tag, err := name.NewTag(t)
		if err != nil {
			return nil, fmt.Errorf("node image: tag %q: %w", t, err)
		}
		tags = append(tags, tag)
	}
	unsquash := opts.Unsquash
	if unsquash == nil {
		unsquash = Unsquashfs
	}
	work, err := os.MkdirTemp(filepath.Dir(opts.Output), ".node-image-")
	if err != nil {
		return nil, fmt.Errorf("node image: %w", err)
	}
	defer os.RemoveAll(work)
	tree := filepath.Join(work, "root")
	if err := unsquash(ctx, opts.Rootfs, tree); err != nil {
		return nil, fmt.Errorf("node image: %w", err)
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	layerPath := filepath.Join(work, "layer.tar")
	if err := writeLayerFile(layerPath, tree, created.UTC()); err != nil {
		return nil, fmt.Errorf("node image: %w", err)
	}
	img, err := image(layerPath, opts.Version, created.UTC())
	if err != nil {
		return nil, fmt.Errorf("node image: %w", err)
	}
	for _, t := range tags {
		refs[t] = img
	}
	tmp := filepath.Join(work, "image.tar")
	if err := tarball.MultiRefWriteToFile(tmp, refs); err != nil {
		return nil, fmt.Errorf("node image: write %s: %w", opts.Output, err)
	}
	if err := os.Rename(tmp, opts.Output); err != nil {
		return nil, fmt.Errorf("node image: %w", err)
	}
	return describe(img, opts)
}

func writeLayerFile(path, tree string, mtime time.Time) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeLayer(f, tree, mtime); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// image builds the single-layer image and its config.
func image(layerPath, version string, created time.Time) (v1.Image, error) {
	layer, err := tarball.LayerFromFile(layerPath, tarball.WithCompressionLevel(gzip.BestSpeed), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "plinth imager: rootfs.sqsh of the VM image", Comment: "Plinth " + version},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Created = runtime.GOARCH, "linux", v1.Time{Time: created}
	cf.Config = v1.Config{
		Entrypoint: Entrypoint,
		// container=docker tells machined (and anything else) that it runs
		// in a container.
		Env:        []string{"container=docker", "PATH=/usr/bin"},
		StopSignal: "SIGTERM",
		ExposedPorts: map[string]struct{}{
			"50000/tcp": {}, "50001/tcp": {}, "6443/tcp": {},
		},
		Labels: map[string]string{LabelTitle: "plinth-node", LabelVersion: version},
	}
	return mutate.ConfigFile(img, cf)
}

func describe(img v1.Image, opts Options) (*Result, error) {
	id, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("node image: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("node image: %w", err)
	}
	res := &Result{ID: id.String(), Tags: opts.Tags}
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			return nil, fmt.Errorf("node image: %w", err)
		}
		res.LayerSize += n
	}
	st, err := os.Stat(opts.Output)
	if err != nil {
		return nil, fmt.Errorf("node image: %w", err)
	}
	res.Size = st.Size()
	return res, nil
}

// Unsquashfs extracts image into dir (which must not exist) with
// unsquashfs from squashfs-tools, keeping owners and modes.
func Unsquashfs(ctx context.Context, image, dir string) error {
	bin, err := exec.LookPath("unsquashfs")
	if err != nil {
		return fmt.Errorf("unsquashfs not found (apt-get install squashfs-tools, or run hack/ensure-deps.sh image): %w", err)
	}
	if _, err := os.Stat(image); err != nil {
		return fmt.Errorf("rootfs: %w (build it with `make image`)", err)
	}
	out, err := exec.CommandContext(ctx, bin, "-no-xattrs", "-no-progress", "-quiet", "-d", dir, image).CombinedOutput()
	if err != nil {
		return fmt.Errorf("unsquashfs %s: %w: %s", image, err, strings.TrimSpace(string(out)))
	}
	return nil
}

var badTagChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// TagFor turns a version (git describe output) into a valid image tag:
// characters other than letters, digits, '_', '.' and '-' become '-', and
// it starts with a letter or digit.
func TagFor(version string) string {
	t := badTagChars.ReplaceAllString(version, "-")
	t = strings.TrimLeft(t, ".-")
	if len(t) > 128 {
		t = t[:128]
	}
	if t == "" {
		t = "dev"
	}
	return t
}
