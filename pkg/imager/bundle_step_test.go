package imager

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/imager/inputs"
	"github.com/plinth-os/plinth/pkg/machinery/bundle"
)

type memFile struct{ *bytes.Buffer }

func (memFile) Close() error { return nil }

func TestBootBundleStep(t *testing.T) {
	out := t.TempDir()
	in := &inputs.Inputs{Kernel: inputs.Kernel{Release: "6.1.0-56-cloud-amd64", Package: inputs.Package{Arch: "amd64"}}}
	b := &builder{cfg: Config{Out: out, Version: "v0.3.0"}, in: in, now: time.Now, built: map[string]bool{}}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(out, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(Vmlinuz, "kernel")
	write(Initramfs, "initramfs one")

	run := func(wantBuilt bool) bundle.Manifest {
		t.Helper()
		m, err := b.bootBundle()
		if err != nil {
			t.Fatal(err)
		}
		if b.built[Bundle] != wantBuilt {
			t.Errorf("built = %v, want %v", b.built[Bundle], wantBuilt)
		}
		return m
	}
	m := run(true)
	if m.Version != "v0.3.0" || m.KernelRelease != "6.1.0-56-cloud-amd64" || m.Arch != "amd64" {
		t.Errorf("manifest %+v", m)
	}
	if again := run(false); again.Files[1].SHA256 != m.Files[1].SHA256 || again.Version != m.Version {
		t.Errorf("up-to-date manifest %+v, want %+v", again, m)
	}

	write(Initramfs, "initramfs two")
	m = run(true)
	b.cfg.Version = "v0.4.0"
	m = run(true)

	f, err := os.Open(filepath.Join(out, Bundle))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]*bytes.Buffer{}
	read, err := bundle.Read(f, func(name string, size int64) (io.WriteCloser, error) {
		got[name] = &bytes.Buffer{}
		return memFile{got[name]}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if read.Version != "v0.4.0" || read.Files[1] != m.Files[1] {
		t.Errorf("bundle on disk %+v, step returned %+v", read, m)
	}
	if got[Vmlinuz].String() != "kernel" || got[Initramfs].String() != "initramfs two" {
		t.Errorf("bundle holds %q and %q", got[Vmlinuz], got[Initramfs])
	}
}
