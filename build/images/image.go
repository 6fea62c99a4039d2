package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is the time stamped on every file, layer and config: images are
// reproducible, so the build time is not part of them.
var epoch = time.Unix(0, 0).UTC()

// writeImage builds spec's image from the program cache entry dir and writes
// it to path as a docker-archive tarball. It returns the image reference and
// its ID, the digest of its config: the ID is what `ctr images ls` and
// crictl show after import (containerd writes its own manifest for a
// docker archive, so the manifest digest is not kept).
func writeImage(s spec, dir, path string) (string, string, error) {
	version, err := buildVersion(dir)
	if err != nil {
		return "", "", err
	}
	tag, err := name.NewTag(s.Repository+":"+version, name.StrictValidation)
	if err != nil {
		return "", "", err
	}
	img, err := buildImage(s, dir, version)
	if err != nil {
		return "", "", err
	}
	id, err := img.ConfigName()
	if err != nil {
		return "", "", err
	}
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		return "", "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", "", err
	}
	return tag.String(), id.String(), nil
}

// buildImage assembles the one-layer image of spec s.
func buildImage(s spec, dir, version string) (v1.Image, error) {
	layerTar, err := layerTar(s.Files, dir)
	if err != nil {
		return nil, err
	}
	// The layer stays uncompressed: the image ships inside the node's
	// squashfs, whose zstd compresses it better than gzip would (a gzip
	// layer cannot be compressed again): coredns and flannel shrink the
	// node image by 11 MB this way. containerd imports either.
	layer := static.NewLayer(layerTar, types.DockerUncompressedLayer)
	img := mutate.MediaType(empty.Image, types.DockerManifestSchema2)
	img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: epoch},
			CreatedBy: "plinth build/images: " + strings.Join(files(s), " "),
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config = v1.Config{
		Entrypoint: s.Entrypoint,
		User:       s.User,
		Env:        []string{imagePath},
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.version": version,
			"org.opencontainers.image.source":  s.Source,
			"org.opencontainers.image.vendor":  "Plinth (built from source)",
		},
	}
	if len(s.ExposedPorts) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range s.ExposedPorts {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	return mutate.ConfigFile(img, cf)
}

func files(s spec) []string {
	var out []string
	for _, f := range s.Files {
		out = append(out, f.Dst)
	}
	return out
}

// layerTar returns the uncompressed layer: the files' parent directories
// (mode 0755) and the files, owned by root, all stamped with epoch.
func layerTar(fs []file, dir string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	made := map[string]bool{}
	for _, f := range fs {
		if !path.IsAbs(f.Dst) {
			return nil, fmt.Errorf("file %s: destination must be absolute", f.Dst)
		}
		if err := writeParents(tw, made, path.Dir(f.Dst)); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(filepath.Join(dir, f.Src))
		if err != nil {
			return nil, err
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     strings.TrimPrefix(f.Dst, "/"),
			Mode:     f.Mode,
			Size:     int64(len(data)),
			ModTime:  epoch,
			Format:   tar.FormatPAX,
		}
		if len(f.Caps) > 0 {
			hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": capabilityXattr(f.Caps)}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeParents writes a directory entry for dir and each of its parents
// not written yet, outermost first.
func writeParents(tw *tar.Writer, made map[string]bool, dir string) error {
	if dir == "/" || made[dir] {
		return nil
	}
	if err := writeParents(tw, made, path.Dir(dir)); err != nil {
		return err
	}
	made[dir] = true
	return tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeDir,
		Name:     strings.TrimPrefix(dir, "/") + "/",
		Mode:     0o755,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	})
}

// buildVersion reads the version hack/build-programs.sh recorded in the
// cache entry's BUILDINFO.
func buildVersion(dir string) (string, error) {
	f, err := os.Open(filepath.Join(dir, "BUILDINFO"))
	if err != nil {
		return "", fmt.Errorf("program cache entry: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "version="); ok && v != "" {
			return v, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s/BUILDINFO has no version", dir)
}
