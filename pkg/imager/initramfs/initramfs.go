// Package initramfs writes Plinth's initramfs: an uncompressed newc cpio
// archive (see pkg/imager/layout for what is where). Under emulation the
// kernel unpacks an uncompressed archive fastest; the big programs live in
// the squashfs inside it, which is decompressed lazily, block by block.
package initramfs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/plinth-os/plinth/pkg/imager/cpio"
	"github.com/plinth-os/plinth/pkg/imager/layout"
)

// Spec names the host files that go into the initramfs.
type Spec struct {
	// Init is the static plinth binary, written as /init.
	Init string
	// ModulesDir is the host's lib/modules/<Release> of the kernel.
	ModulesDir string
	// Release is the kernel release.
	Release string
	// Modules are module files relative to ModulesDir, in load order.
	Modules []string
	// Rootfs is the squashfs image, written as /rootfs.sqsh.
	Rootfs string
}

// mountpoints are the empty directories init mounts onto.
var mountpoints = []string{"/dev", "/proc", "/sys", "/run", "/tmp", layout.NewRoot}

// Write writes the initramfs described by s to w.
func Write(w io.Writer, s Spec) error {
	cw := cpio.NewWriter(w)
	modDir := path.Join(layout.ModulesDir, s.Release)
	var inArchive []string
	for _, m := range s.Modules {
		if !filepath.IsLocal(m) {
			return fmt.Errorf("initramfs: module path %q is not relative to the modules directory", m)
		}
		inArchive = append(inArchive, path.Join(modDir, filepath.ToSlash(m)))
	}

	dirs := map[string]bool{}
	for _, d := range mountpoints {
		dirs[d] = true
	}
	for _, p := range append(inArchive, layout.LoadList, layout.Console) {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted) // parents sort before their children
	for _, d := range sorted {
		if err := cw.Dir(d, 0o755); err != nil {
			return err
		}
	}
	if err := cw.CharDev(layout.Console, 0o600, 5, 1); err != nil {
		return err
	}
	if err := addFile(cw, layout.Init, 0o755, s.Init); err != nil {
		return err
	}
	for i, m := range s.Modules {
		if err := addFile(cw, inArchive[i], 0o644, filepath.Join(s.ModulesDir, m)); err != nil {
			return err
		}
	}
	var list bytes.Buffer
	if err := layout.FormatLoadList(&list, inArchive); err != nil {
		return err
	}
	if err := cw.File(layout.LoadList, 0o644, int64(list.Len()), &list); err != nil {
		return err
	}
	if err := addFile(cw, layout.RootfsImage, 0o444, s.Rootfs); err != nil {
		return err
	}
	return cw.Close()
}

func addFile(cw *cpio.Writer, name string, perm uint32, hostPath string) error {
	f, err := os.Open(hostPath)
	if err != nil {
		return fmt.Errorf("initramfs %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("initramfs %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("initramfs %s: %s is not a regular file", name, hostPath)
	}
	if err := cw.File(strings.TrimPrefix(name, "/"), perm, st.Size(), f); err != nil {
		return fmt.Errorf("initramfs %s: %w", name, err)
	}
	return nil
}
