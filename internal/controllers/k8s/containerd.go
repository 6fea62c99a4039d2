package k8s

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/controllers/kernel"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// ContainerdServiceID is the id of containerd's ServiceConfig (and service).
const ContainerdServiceID = "containerd"

// containerdOOMScoreAdj keeps containerd (and the shims it starts) among
// the last processes the kernel kills, on metal.
const containerdOOMScoreAdj = -999

// ContainerdController runs containerd with CRI on every configured node:
// it writes /etc/containerd/config.toml and the registry mirrors of
// machine.registries (certs.d/<registry>/hosts.toml) and asks machined for
// the containerd service, healthy once its socket answers.
//
//	no config ──config──▶ files written ──▶ ServiceConfig containerd
//	    ▲                     │ registries change: files and hash change,
//	    └─── config removed ──┘ containerd restarts
//	         (ServiceConfig removed: machined stops it)
type ContainerdController struct {
	// Root is the file-system root the files are written under.
	Root string
	// Mode is metal or container; container mode restricts the OOM score
	// adjustments CRI asks for (the node cannot lower them).
	Mode validation.Mode
	// WaitModules makes containerd wait for the kernel modules machined
	// loads on metal (kernel.ModulesReadyFile).
	WaitModules bool
}

// Name implements runtime.Controller.
func (*ContainerdController) Name() string { return "k8s.ContainerdController" }

// Inputs implements runtime.Controller.
func (*ContainerdController) Inputs() []runtime.Input {
	return []runtime.Input{read.ConfigInput}
}

// Outputs implements runtime.Controller.
func (*ContainerdController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: rtres.ServiceConfigType, Kind: runtime.OutputShared}}
}

// Run implements runtime.Controller.
func (c *ContainerdController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		}
		if err := c.reconcile(ctx, r, logger); err != nil {
			return err
		}
	}
}

func (c *ContainerdController) reconcile(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	m, err := read.MachineConfig(ctx, r)
	if err != nil {
		return err
	}
	tr := runtime.NewOutputTracker(r, rtres.NamespaceName, rtres.ServiceConfigType)
	if m == nil || m.Machine == nil {
		return tr.Cleanup(ctx)
	}

	container := c.Mode == validation.ModeContainer
	files := []nodeFile{{Path: ContainerdConfigPath, Mode: 0o644,
		Data: renderContainerdConfig(containerdSettings{restrictOOMScoreAdj: container})}}
	hosts, err := registryHostsFiles(m.Machine.Registries)
	if err != nil {
		// A bad mirror leaves the others (and containerd) running.
		logger.Error("registry mirrors not written", "error", err)
		hosts = nil
	}
	paths := make([]string, 0, len(hosts))
	for p := range hosts {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		files = append(files, nodeFile{Path: p, Data: hosts[p], Mode: 0o644})
	}
	if err := writeNodeFiles(c.Root, files...); err != nil {
		return fmt.Errorf("containerd: %w", err)
	}
	if err := c.pruneHosts(hosts); err != nil {
		return fmt.Errorf("containerd: %w", err)
	}

	spec := rtres.ServiceConfigSpec{
		Args:        []string{ContainerdBinary, "--config", ContainerdConfigPath},
		Env:         []string{servicePath},
		HealthCheck: &rtres.HealthCheck{Socket: ContainerdSocket, IntervalSeconds: 2},
		ConfigHash:  hashNodeFiles(files...),
	}
	if !container {
		spec.OOMScoreAdj = containerdOOMScoreAdj
	}
	if c.WaitModules {
		spec.WaitFiles = []string{kernel.ModulesReadyFile}
	}
	err = tr.Modify(ctx, rtres.NewServiceConfig(ContainerdServiceID), func(res resource.Resource) error {
		*res.(*rtres.ServiceConfig).TypedSpec() = spec
		return nil
	})
	if err != nil {
		return fmt.Errorf("containerd service config: %w", err)
	}
	return tr.Cleanup(ctx)
}

// pruneHosts removes the registry directories of certs.d that are no
// longer mirrored: the directory is Plinth's alone.
func (c *ContainerdController) pruneHosts(want map[string][]byte) error {
	dir := filepath.Join(c.Root, ContainerdCertsDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", ContainerdCertsDir, err)
	}
	var stale []string
	for _, e := range entries {
		p := filepath.Join(ContainerdCertsDir, e.Name(), "hosts.toml")
		if _, ok := want[p]; !ok {
			stale = append(stale, filepath.Join(ContainerdCertsDir, e.Name()))
		}
	}
	return removeNodeFiles(c.Root, stale...)
}
