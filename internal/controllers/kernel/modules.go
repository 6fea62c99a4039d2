package kernel

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/imager/layout"
	"github.com/plinth-os/plinth/pkg/imager/modules"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/kernel"
)

// ModulesReadyFile is written once every module of a config was tried
// (loaded or failed). containerd waits for it on a metal node: the CNI
// plugins, kube-proxy and flannel need netfilter, the bridge and vxlan,
// and a Plinth node has no modprobe for the kernel to load them on demand.
const ModulesReadyFile = constants.SystemRunDir + "/kernel-modules-loaded"

// ModuleLoader inserts one module file with its parameters (kmod.Load).
type ModuleLoader func(path, params string) error

// ModulesController loads, on a metal node with a machine config, the
// image's Kubernetes modules (layout.KubernetesModules) and
// machine.kernel.modules from the root file system
// (layout.RootfsModulesDir/<release>), each after its dependencies, and
// reports each as a KernelModuleStatus (ID: the name). A module that is
// not in the image or fails to load is reported with its error; the rest
// still load. Modules are never unloaded: one that leaves the config
// stays in the kernel (only its status goes).
type ModulesController struct {
	// Root is the file-system root ("/" on a node).
	Root string
	// Release is the running kernel's release (uname -r).
	Release string
	// Load inserts a module; Loaded reports whether the kernel has one
	// (from /sys/module).
	Load   ModuleLoader
	Loaded func(name string) bool

	failed map[string]string // module → error last logged
}

// Name implements runtime.Controller.
func (*ModulesController) Name() string { return "kernel.ModulesController" }

// Inputs implements runtime.Controller.
func (*ModulesController) Inputs() []runtime.Input { return []runtime.Input{read.ConfigInput} }

// Outputs implements runtime.Controller.
func (*ModulesController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: kernel.KernelModuleStatusType}}
}

// wanted is one module to load.
type wanted struct {
	name, origin string
	params       []string
}

// Run implements runtime.Controller.
func (c *ModulesController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	if c.failed == nil {
		c.failed = map[string]string{}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		}
		m, err := read.MachineConfig(ctx, r)
		if err != nil {
			return err
		}
		tr := runtime.NewOutputTracker(r, kernel.NamespaceName, kernel.KernelModuleStatusType)
		if m == nil || m.Machine == nil {
			if err := tr.Cleanup(ctx); err != nil {
				return err
			}
			continue
		}
		want, listErr := c.wanted(m.Machine.Kernel)
		if listErr != nil {
			logger.Warn("the image's Kubernetes module list is unreadable: Kubernetes networking may fail", "error", listErr)
		}
		ix, ixErr := modules.Load(filepath.Join(c.Root, "usr"), c.Release)
		for _, w := range want {
			status := c.load(ix, ixErr, w, logger)
			if err := tr.Modify(ctx, kernel.NewKernelModuleStatus(w.name), func(res resource.Resource) error {
				*res.(*kernel.KernelModuleStatus).TypedSpec() = status
				return nil
			}); err != nil {
				return fmt.Errorf("kernel module status %s: %w", w.name, err)
			}
		}
		if err := tr.Cleanup(ctx); err != nil {
			return err
		}
		if err := writeReady(filepath.Join(c.Root, ModulesReadyFile)); err != nil {
			return err
		}
	}
}

// dir is the rootfs's module directory of the running kernel.
func (c *ModulesController) dir() string {
	return filepath.Join(c.Root, layout.RootfsModulesDir, c.Release)
}

// wanted lists the image's Kubernetes modules, then the config's. A
// module in both is loaded once, with the config's parameters.
func (c *ModulesController) wanted(k *v1alpha1.Kernel) ([]wanted, error) {
	names, err := readNameList(filepath.Join(c.dir(), layout.KubernetesModules))
	if errors.Is(err, os.ErrNotExist) {
		err = nil // an image without Kubernetes modules
	}
	var out []wanted
	index := map[string]int{}
	for _, n := range names {
		index[modules.Name(n)] = len(out)
		out = append(out, wanted{name: modules.Name(n), origin: kernel.OriginKubernetes})
	}
	if k != nil {
		for _, mod := range k.Modules {
			w := wanted{name: modules.Name(mod.Name), origin: kernel.OriginConfig, params: mod.Parameters}
			if i, ok := index[w.name]; ok {
				out[i] = w
				continue
			}
			index[w.name] = len(out)
			out = append(out, w)
		}
	}
	return out, err
}

// load inserts one module after its dependencies.
func (c *ModulesController) load(ix *modules.Index, ixErr error, w wanted, logger *slog.Logger) kernel.KernelModuleStatusSpec {
	st := kernel.KernelModuleStatusSpec{Name: w.name, Origin: w.origin, Parameters: w.params}
	fail := func(err error) kernel.KernelModuleStatusSpec {
		st.State, st.Error = kernel.ModuleFailed, err.Error()
		if c.failed[w.name] != st.Error {
			c.failed[w.name] = st.Error
			logger.Warn("kernel module not loaded", "module", w.name, "origin", w.origin, "error", err)
		}
		return st
	}
	if c.Loaded(w.name) {
		st.State = kernel.ModulePresent
		return st
	}
	if ixErr != nil {
		return fail(fmt.Errorf("this image ships no loadable modules for kernel %s: %w", c.Release, ixErr))
	}
	plan, err := ix.Resolve([]string{w.name})
	if err != nil {
		return fail(fmt.Errorf("%s is not among this image's modules for kernel %s (%s)", w.name, c.Release, filepath.Join(layout.RootfsModulesDir, c.Release)))
	}
	if len(plan.Builtin) > 0 {
		st.State = kernel.ModuleBuiltin
		return st
	}
	loadedAny := false
	for _, p := range plan.Paths {
		name := modules.Name(p)
		if name != w.name {
			st.Dependencies = append(st.Dependencies, name)
		}
		if c.Loaded(name) {
			continue
		}
		params := ""
		if name == w.name {
			params = strings.Join(w.params, " ")
		}
		if err := c.Load(filepath.Join(c.dir(), filepath.FromSlash(path.Clean(p))), params); err != nil {
			return fail(err)
		}
		loadedAny = true
	}
	delete(c.failed, w.name)
	st.State = kernel.ModuleLoaded
	if !loadedAny {
		st.State = kernel.ModulePresent
	}
	return st
}

// readNameList reads one module name a line ('#' comments, blank lines
// ignored).
func readNameList(p string) ([]string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names = append(names, line)
	}
	return names, sc.Err()
}

// writeReady writes the ready file atomically (once; it stays).
func writeReady(p string) error {
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("kernel modules: %w", err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte("kernel modules tried\n"), 0o644); err != nil {
		return fmt.Errorf("kernel modules: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("kernel modules: %w", err)
	}
	return nil
}
