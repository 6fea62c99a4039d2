package imager

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/plinth-os/plinth/pkg/machinery/bundle"
)

// bootBundle writes boot-bundle.tar from vmlinuz and the initramfs: the
// unit machined installs into a boot slot (docs/decisions/0002). Its key is
// the content of both files, the version, the kernel release, the arch and
// the bundle format. It returns the bundle's manifest, read back from the
// file when the step was up to date.
func (b *builder) bootBundle() (bundle.Manifest, error) {
	k := b.in.Kernel
	want := bundle.Manifest{Version: versionOrDev(b.cfg.Version), KernelRelease: k.Release, Arch: k.Package.Arch}
	kr, key := newKeyer()
	kr.add("bundle", strconv.Itoa(bundle.FormatVersion), want.Version, want.KernelRelease, want.Arch)
	for _, name := range []string{Vmlinuz, Initramfs} {
		if err := kr.file(name, b.out(name)); err != nil {
			return want, fmt.Errorf("bundle: %w", err)
		}
	}
	var written bundle.Manifest
	ran, err := b.runStep(step{
		name: "bundle", key: key(), outputs: []string{b.out(Bundle)},
		run: func() error {
			return writeAtomic(b.out(Bundle), func(w io.Writer) error {
				var err error
				written, err = bundle.Write(w, want, b.out(Vmlinuz), b.out(Initramfs))
				return err
			})
		},
	})
	b.mark(ran, Bundle)
	if err != nil || ran {
		return written, err
	}
	f, err := os.Open(b.out(Bundle))
	if err != nil {
		return want, fmt.Errorf("bundle: %w", err)
	}
	defer f.Close()
	m, err := bundle.ReadManifest(f)
	if err != nil {
		return m, fmt.Errorf("bundle: %s: %w", b.out(Bundle), err)
	}
	return m, nil
}
