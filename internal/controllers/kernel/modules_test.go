package kernel_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/controllers/kernel"
	"github.com/plinth-os/plinth/pkg/imager/layout"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	reskernel "github.com/plinth-os/plinth/pkg/machinery/resources/kernel"
)

const release = "6.1.0-test"

// fakeKernel records the modules loaded and answers /sys/module.
type fakeKernel struct {
	mu     sync.Mutex
	loaded []string // in order, with parameters
	have   map[string]bool
	refuse string
}

func (k *fakeKernel) load(path, params string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	name := strings.TrimSuffix(filepath.Base(path), ".ko")
	if name == k.refuse {
		return errors.New("load module " + name + ": invalid argument")
	}
	if _, err := os.Stat(path); err != nil {
		return err
	}
	k.have[name] = true
	k.loaded = append(k.loaded, strings.TrimSpace(name+" "+params))
	return nil
}

func (k *fakeKernel) isLoaded(name string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.have[name]
}

func (k *fakeKernel) order() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.loaded)
}

// modulesRoot lays out <root>/usr/lib/modules/<release> as the imager does.
func modulesRoot(t *testing.T, kubernetes string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, layout.RootfsModulesDir, release)
	files := map[string]string{
		"modules.dep": "kernel/net/netfilter/nf_conntrack.ko: kernel/lib/libcrc32c.ko\n" +
			"kernel/lib/libcrc32c.ko:\n" +
			"kernel/net/netfilter/xt_comment.ko: kernel/net/netfilter/x_tables.ko\n" +
			"kernel/net/netfilter/x_tables.ko:\n" +
			"kernel/net/bridge/br_netfilter.ko: kernel/net/bridge/bridge.ko\n" +
			"kernel/net/bridge/bridge.ko:\n",
		"modules.builtin":        "kernel/fs/ext4/ext4.ko\n",
		layout.KubernetesModules: kubernetes,
	}
	for _, ko := range []string{"net/netfilter/nf_conntrack", "lib/libcrc32c", "net/netfilter/xt_comment", "net/netfilter/x_tables", "net/bridge/br_netfilter", "net/bridge/bridge"} {
		files["kernel/"+ko+".ko"] = "\x7fELF"
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func moduleStatus(t *testing.T, h *ctest.Harness, name string) reskernel.KernelModuleStatusSpec {
	t.Helper()
	r := ctest.Get[reskernel.KernelModuleStatusSpec](t, h.State, reskernel.NamespaceName, reskernel.KernelModuleStatusType, name)
	if r == nil {
		return reskernel.KernelModuleStatusSpec{}
	}
	return *r.TypedSpec()
}

func modulesConfig(mods ...v1alpha1.KernelModule) *v1alpha1.MachineConfig {
	m := ctest.MachineConfig(v1alpha1.TypeWorker, nil)
	m.Machine.Kernel = &v1alpha1.Kernel{Modules: mods}
	return m
}

func TestModulesLoadKubernetesSetThenConfig(t *testing.T) {
	root := modulesRoot(t, "# Kubernetes\nnf_conntrack\nbr_netfilter\n")
	k := &fakeKernel{have: map[string]bool{"bridge": true}} // loaded before (by init, say)
	c := &kernel.ModulesController{Root: root, Release: release, Load: k.load, Loaded: k.isLoaded}
	h := ctest.New(t, c)
	h.Start(t)
	ctest.SetConfig(t, h.State, modulesConfig())
	ready := filepath.Join(root, kernel.ModulesReadyFile)
	ctest.Eventually(t, "kubernetes modules loaded", func() bool {
		_, err := os.Stat(ready)
		return err == nil
	})
	if got, want := k.order(), []string{"libcrc32c", "nf_conntrack", "br_netfilter"}; !slices.Equal(got, want) {
		t.Fatalf("load order %q, want %q (dependencies first, loaded ones skipped)", got, want)
	}
	if s := moduleStatus(t, h, "nf_conntrack"); s.State != reskernel.ModuleLoaded || s.Origin != reskernel.OriginKubernetes || !slices.Equal(s.Dependencies, []string{"libcrc32c"}) {
		t.Fatalf("nf_conntrack status %+v", s)
	}

	ctest.SetConfig(t, h.State, modulesConfig(
		v1alpha1.KernelModule{Name: "xt-comment", Parameters: []string{"a=1", "b=2"}},
		v1alpha1.KernelModule{Name: "ext4"},
		v1alpha1.KernelModule{Name: "zfs"},
	))
	ctest.Eventually(t, "config modules reported", func() bool {
		return moduleStatus(t, h, "xt_comment").State == reskernel.ModuleLoaded && moduleStatus(t, h, "zfs").State == reskernel.ModuleFailed
	})
	if got := k.order()[3:]; !slices.Equal(got, []string{"x_tables", "xt_comment a=1 b=2"}) {
		t.Fatalf("config load %q: parameters go to the module asked for, not its dependencies", got)
	}
	if s := moduleStatus(t, h, "ext4"); s.State != reskernel.ModuleBuiltin || s.Origin != reskernel.OriginConfig {
		t.Fatalf("ext4 %+v", s)
	}
	if s := moduleStatus(t, h, "zfs"); !strings.Contains(s.Error, "zfs is not among this image's modules for kernel "+release) {
		t.Fatalf("zfs error %q", s.Error)
	}
	if s := moduleStatus(t, h, "br_netfilter"); s.State != reskernel.ModulePresent {
		t.Fatalf("br_netfilter on the second pass: %+v", s)
	}
	if n := logLines(h, "kernel module not loaded", "module=zfs"); n != 1 {
		t.Fatalf("missing module logged %d times:\n%s", n, h.Logs.String())
	}

	ctest.SetConfig(t, h.State, modulesConfig())
	ctest.Eventually(t, "config module statuses gone", func() bool {
		return moduleStatus(t, h, "zfs").Name == "" && moduleStatus(t, h, "xt_comment").Name == ""
	})
	if s := moduleStatus(t, h, "nf_conntrack"); s.State != reskernel.ModulePresent {
		t.Fatalf("kubernetes module after the config change: %+v", s)
	}
}

func TestModulesFailureLeavesTheRest(t *testing.T) {
	root := modulesRoot(t, "nf_conntrack\nbr_netfilter\n")
	k := &fakeKernel{have: map[string]bool{}, refuse: "libcrc32c"}
	h := ctest.New(t, &kernel.ModulesController{Root: root, Release: release, Load: k.load, Loaded: k.isLoaded})
	h.Start(t)
	ctest.SetConfig(t, h.State, modulesConfig())
	// The ready file comes after every status: once it is there, a
	// failed module did not hold containerd back.
	ctest.Eventually(t, "ready file despite a failed module", func() bool {
		_, err := os.Stat(filepath.Join(root, kernel.ModulesReadyFile))
		return err == nil
	})
	if s := moduleStatus(t, h, "br_netfilter"); s.State != reskernel.ModuleLoaded {
		t.Fatalf("br_netfilter %+v", s)
	}
	if s := moduleStatus(t, h, "nf_conntrack"); s.State != reskernel.ModuleFailed || !strings.Contains(s.Error, "libcrc32c: invalid argument") {
		t.Fatalf("nf_conntrack %+v", s)
	}
}

func TestModulesImageWithoutModules(t *testing.T) {
	root := t.TempDir()
	k := &fakeKernel{have: map[string]bool{}}
	h := ctest.New(t, &kernel.ModulesController{Root: root, Release: release, Load: k.load, Loaded: k.isLoaded})
	h.Start(t)
	ctest.SetConfig(t, h.State, modulesConfig(v1alpha1.KernelModule{Name: "dummy"}))
	ctest.Eventually(t, "dummy reported", func() bool {
		return moduleStatus(t, h, "dummy").State == reskernel.ModuleFailed
	})
	if s := moduleStatus(t, h, "dummy"); !strings.Contains(s.Error, "ships no loadable modules for kernel "+release) {
		t.Fatalf("error %q", s.Error)
	}
	if len(k.order()) != 0 {
		t.Fatalf("loaded %q", k.order())
	}
}
