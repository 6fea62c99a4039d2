// Package layout is the contract between the image builder and `plinth
// init`: where things are in the initramfs and in the root file system,
// and the format of the module load list. It is pure Go with no I/O
// beyond the io.Reader and io.Writer it is given.
//
// The initramfs (an uncompressed newc cpio unpacked by the kernel):
//
//	/init                         the static plinth binary (argv[0] "init")
//	/dev/console                  so PID 1 has a console before devtmpfs
//	/lib/modules/<release>/...    the kernel modules init loads
//	/lib/modules/load.list        their paths, dependencies first
//	/rootfs.sqsh                  the read-only root file system
//	/newroot                      where init mounts it
package layout

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// Paths inside the initramfs.
const (
	// Init is the program the kernel runs as PID 1.
	Init = "/init"
	// Console is the console device node shipped in the initramfs.
	Console = "/dev/console"
	// ModulesDir holds kernel modules, below a directory per kernel release.
	ModulesDir = "/lib/modules"
	// LoadList lists the modules to load, one absolute path a line, each
	// after the modules it depends on.
	LoadList = "/lib/modules/load.list"
	// RootfsImage is the squashfs root file system.
	RootfsImage = "/rootfs.sqsh"
	// NewRoot is where init mounts the root file system before switching.
	NewRoot = "/newroot"
)

// Paths inside the root file system.
const (
	// Machined is the program init executes after switching root.
	Machined = "/usr/bin/machined"
	// SystemDir is the tmpfs for machined's run, state and secrets.
	SystemDir = "/system"
	// OverlayDir holds the upper and work directories of overlays on the
	// read-only root (in the /system tmpfs): OverlayDir/etc/{upper,work}.
	OverlayDir = "/system/overlay"
	// RootfsModulesDir holds, below a directory per kernel release, the
	// kernel modules machined loads after boot (not init): the files of
	// inputs.yaml's kernel.rootfsModules and their dependencies, at their
	// paths in the kernel package (kernel/net/...), with a modules.dep
	// that lists only them and the package's modules.builtin.
	RootfsModulesDir = "/usr/lib/modules"
	// KubernetesModules names the file, in RootfsModulesDir/<release>,
	// listing the modules machined loads before containerd when a metal
	// node runs Kubernetes: one module name a line, in the order of
	// kernel.rootfsModules ('#' comments and blank lines ignored).
	KubernetesModules = "kubernetes.modules"
)

// ParseLoadList reads a module load list: one absolute path a line, blank
// lines and lines starting with '#' ignored. Paths must be clean and
// absolute and appear once.
func ParseLoadList(r io.Reader) ([]string, error) {
	var paths []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !path.IsAbs(line) || path.Clean(line) != line {
			return nil, fmt.Errorf("load list line %d: %q is not a clean absolute path", n, line)
		}
		if seen[line] {
			return nil, fmt.Errorf("load list line %d: %s listed twice", n, line)
		}
		seen[line] = true
		paths = append(paths, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read load list: %w", err)
	}
	return paths, nil
}

// FormatLoadList writes paths as a load list with a header comment.
func FormatLoadList(w io.Writer, paths []string) error {
	var b strings.Builder
	b.WriteString("# Kernel modules plinth init loads, in this order (dependencies first).\n")
	for _, p := range paths {
		b.WriteString(p)
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write load list: %w", err)
	}
	return nil
}
