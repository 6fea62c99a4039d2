package imager

import (
	"bytes"
	"fmt"
	"path"
	"path/filepath"
	"sort"

	"github.com/plinth-os/plinth/pkg/imager/layout"
	"github.com/plinth-os/plinth/pkg/imager/modules"
	"github.com/plinth-os/plinth/pkg/imager/rootfs"
)

// Generated sources of the rootfs modules (rootfs.SourceMap.Files).
const (
	genModulesDep        = "gen:modules.dep"
	genKubernetesModules = "gen:" + layout.KubernetesModules
)

// rootfsModules is what the rootfs gets for kernel.rootfsModules, below
// layout.RootfsModulesDir/<release>: the module files of their closure at
// their paths in the kernel package, a modules.dep listing only them, the
// package's modules.builtin and the kubernetes.modules list that machined
// loads. It is empty when no module is requested.
type rootfsModules struct {
	// Plan is the closure in load order, and the requested modules that
	// are built into the kernel.
	Plan modules.Plan
	// Entries are allowlist entries to add: directories 0755, files 0644.
	Entries []rootfs.Entry
	// Files are the generated sources the entries name.
	Files map[string][]byte
}

// planRootfsModules resolves names (in kernel.rootfsModules order) in the
// kernel tree, which has <tree>/lib/modules/<release> with modules.dep.
// kernelSource is the allowlist source prefix of that tree
// ("deb:<kernel package>/").
func planRootfsModules(tree, kernelSource, release string, names []string) (*rootfsModules, error) {
	m := &rootfsModules{Files: map[string][]byte{}}
	if len(names) == 0 {
		return m, nil
	}
	ix, err := modules.Load(tree, release)
	if err != nil {
		return nil, fmt.Errorf("kernel.rootfsModules: %w", err)
	}
	if m.Plan, err = ix.Resolve(names); err != nil {
		return nil, fmt.Errorf("kernel.rootfsModules: %w", err)
	}
	var dep bytes.Buffer
	if err := ix.WriteDep(&dep, m.Plan.Paths); err != nil {
		return nil, fmt.Errorf("kernel.rootfsModules: %w", err)
	}
	m.Files[genModulesDep] = dep.Bytes()
	m.Files[genKubernetesModules] = kubernetesModules(names)

	dir := path.Join(layout.RootfsModulesDir, release)
	pkgDir := kernelSource + path.Join("lib/modules", release)
	dirs := map[string]bool{layout.RootfsModulesDir: true, dir: true}
	file := func(p, source string) {
		m.Entries = append(m.Entries, rootfs.Entry{Type: rootfs.TypeFile, Path: p, Mode: 0o644, Source: source})
	}
	for _, rel := range m.Plan.Paths {
		if !filepath.IsLocal(rel) || path.Clean(rel) != rel {
			return nil, fmt.Errorf("kernel.rootfsModules: modules.dep path %q is not a clean relative path", rel)
		}
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			dirs[path.Join(dir, d)] = true
		}
		file(path.Join(dir, rel), pkgDir+"/"+rel)
	}
	file(path.Join(dir, "modules.dep"), genModulesDep)
	file(path.Join(dir, "modules.builtin"), pkgDir+"/modules.builtin")
	file(path.Join(dir, layout.KubernetesModules), genKubernetesModules)
	for d := range dirs {
		m.Entries = append(m.Entries, rootfs.Entry{Type: rootfs.TypeDir, Path: d, Mode: 0o755})
	}
	sort.Slice(m.Entries, func(i, j int) bool { return m.Entries[i].Path < m.Entries[j].Path })
	return m, nil
}

// kubernetesModules is the content of layout.KubernetesModules: a comment,
// then the module names one a line, in inputs order.
func kubernetesModules(names []string) []byte {
	var b bytes.Buffer
	b.WriteString("# Kernel modules machined loads before containerd on a metal node that runs Kubernetes (image/inputs.yaml kernel.rootfsModules; dependencies from modules.dep).\n")
	for _, n := range names {
		b.WriteString(n + "\n")
	}
	return b.Bytes()
}

// key mixes the generated entries into a step key; their sources' bytes
// are hashed with the other file entries.
func (m *rootfsModules) key(kr *keyer) {
	for _, e := range m.Entries {
		kr.add("generated", string(e.Type), e.Path, fmt.Sprintf("%o", e.Mode), e.Source)
	}
}
