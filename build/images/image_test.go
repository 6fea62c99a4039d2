package main

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// programDir makes a fake program cache entry holding files named after
// every Src the specs use.
func programDir(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(n, s string) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("BUILDINFO", "component=x\nversion="+version+"\n")
	for _, s := range specs {
		for _, f := range s.Files {
			write(f.Src, "program "+f.Src)
		}
	}
	return dir
}

func TestImagesAreReproducible(t *testing.T) {
	dir := programDir(t, "v1.2.3")
	for n, s := range specs {
		a, err := buildImage(s, dir, "v1.2.3")
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		b, err := buildImage(s, dir, "v1.2.3")
		if err != nil {
			t.Fatal(err)
		}
		da, _ := a.Digest()
		db, _ := b.Digest()
		if da != db {
			t.Errorf("%s: digests differ between builds: %s, %s", n, da, db)
		}
	}
}

func TestWriteImage(t *testing.T) {
	dir := programDir(t, "v1.15.0")
	path := filepath.Join(t.TempDir(), "coredns.tar")
	ref, _, err := writeImage(specs["coredns"], dir, path)
	if err != nil {
		t.Fatal(err)
	}
	if ref != "registry.k8s.io/coredns/coredns:v1.15.0" {
		t.Errorf("ref = %s", ref)
	}
	tag, _ := name.NewTag(ref)
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/coredns"}) || cf.Config.User != "65532:65532" {
		t.Errorf("config = %+v", cf.Config)
	}
	if !cf.Created.Time.Equal(epoch) {
		t.Errorf("created = %v, want %v", cf.Created, epoch)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var found bool
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == "coredns" {
			found = true
			if got := hdr.PAXRecords["SCHILY.xattr.security.capability"]; got != capabilityXattr([]uint{capNetBindService}) {
				t.Errorf("capability xattr = %q", got)
			}
		}
	}
	if !found {
		t.Error("layer has no coredns file")
	}
}

func TestCapabilityXattr(t *testing.T) {
	// What `setcap cap_net_bind_service=+ep` stores: revision 2 with the
	// effective bit, permitted bit 10.
	want := "\x01\x00\x00\x02\x00\x04\x00\x00" + string(make([]byte, 12))
	if got := capabilityXattr([]uint{capNetBindService}); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
