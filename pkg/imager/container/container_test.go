package container

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fakeRootfs "extracts" a small tree like the real rootfs.
func fakeRootfs(_ context.Context, _, dir string) error {
	for _, d := range []string{"usr/bin", "etc", "system", "var", "proc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "usr/bin/plinth"), []byte("\x7fELF plinth"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/hostname"), nil, 0o644); err != nil {
		return err
	}
	if err := os.Link(filepath.Join(dir, "etc/hostname"), filepath.Join(dir, "etc/hostname.default")); err != nil {
		return err
	}
	if err := os.Symlink("plinth", filepath.Join(dir, "usr/bin/machined")); err != nil {
		return err
	}
	return os.Symlink("usr/bin", filepath.Join(dir, "bin"))
}

func TestBuild(t *testing.T) {
	out := filepath.Join(t.TempDir(), "plinth-node.tar")
	res, err := Build(context.Background(), Options{
		Rootfs: "unused.sqsh", Version: "v0.1.0-3-gabc", Output: out,
		Tags: []string{"plinth/node:v0.1.0-3-gabc", "plinth/node:latest"}, Unsquash: fakeRootfs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Size == 0 || res.LayerSize == 0 || res.ID == "" {
		t.Errorf("result %+v", res)
	}
	for _, tag := range []string{"plinth/node:v0.1.0-3-gabc", "plinth/node:latest"} {
		ref, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(out, &ref)
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cf.Config
		if !slices.Equal(c.Entrypoint, Entrypoint) || !slices.Contains(c.Env, "container=docker") ||
			c.Labels[LabelVersion] != "v0.1.0-3-gabc" || cf.OS != "linux" || !cf.Created.Time.Equal(time.Unix(0, 0)) {
			t.Errorf("%s config: %+v created %s", tag, c, cf.Created)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("layers %d, %v: want one", len(layers), err)
		}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		entries := listTar(t, rc)
		rc.Close()
		want := []string{
			"bin -> usr/bin", "etc/", "etc/hostname", "etc/hostname.default => etc/hostname", "proc/", "system/",
			"usr/", "usr/bin/", "usr/bin/machined -> plinth", "usr/bin/plinth", "var/",
		}
		if !slices.Equal(entries, want) {
			t.Errorf("layer entries:\n%q\nwant\n%q", entries, want)
		}
	}
}

// listTar names each entry: "dir/", "file", "link -> target", "hard => first".
func listTar(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(time.Unix(0, 0)) || h.Uname != "" {
			t.Errorf("%s: time %s owner name %q: want the epoch and no names", h.Name, h.ModTime, h.Uname)
		}
		switch h.Typeflag {
		case tar.TypeSymlink:
			out = append(out, h.Name+" -> "+h.Linkname)
		case tar.TypeLink:
			out = append(out, h.Name+" => "+h.Linkname)
		default:
			out = append(out, h.Name)
		}
	}
}

func TestLayerIsReproducible(t *testing.T) {
	layer := func() []byte {
		dir := filepath.Join(t.TempDir(), "root")
		if err := fakeRootfs(context.Background(), "", dir); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := writeLayer(&b, dir, time.Unix(0, 0)); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a := layer()
	time.Sleep(10 * time.Millisecond)
	if !bytes.Equal(a, layer()) {
		t.Error("two layers of the same tree differ")
	}
}

func TestUnsquashfs(t *testing.T) {
	if _, err := exec.LookPath("mksquashfs"); err != nil {
		t.Skip("needs mksquashfs and unsquashfs (squashfs-tools)")
	}
	src := filepath.Join(t.TempDir(), "src")
	if err := fakeRootfs(context.Background(), "", src); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "rootfs.sqsh")
	if out, err := exec.Command("mksquashfs", src, img, "-quiet", "-no-progress", "-all-root").CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v\n%s", err, out)
	}
	dst := filepath.Join(t.TempDir(), "root")
	if err := Unsquashfs(context.Background(), img, dst); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(dst, "usr/bin/machined")); err != nil || target != "plinth" {
		t.Errorf("machined link = %q, %v", target, err)
	}
	if err := Unsquashfs(context.Background(), filepath.Join(t.TempDir(), "none.sqsh"), dst+"2"); err == nil {
		t.Error("Unsquashfs of a missing image succeeded")
	}
}

func TestTagFor(t *testing.T) {
	for in, want := range map[string]string{
		"v0.1.0":                "v0.1.0",
		"v0.1.0-5-g0cd9353+dev": "v0.1.0-5-g0cd9353-dev",
		"0cd9353-dirty":         "0cd9353-dirty",
		".hidden":               "hidden",
		"":                      "dev",
	} {
		if got := TagFor(in); got != want {
			t.Errorf("TagFor(%q) = %q, want %q", in, got, want)
		}
	}
}
