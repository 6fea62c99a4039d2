package machined

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/plinth-os/plinth/internal/app/machined/apply"
	"github.com/plinth-os/plinth/internal/app/machined/maintenance"
	"github.com/plinth-os/plinth/internal/app/machined/services"
	"github.com/plinth-os/plinth/internal/controllers"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/runtime/engine"
	"github.com/plinth-os/plinth/internal/supervisor/cgroup"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// machineIDFile keeps the node's random id in STATE.
const machineIDFile = "machine-id"

// prepare creates the node's directories and its machine id.
func (m *machined) prepare(ctx context.Context) error {
	if err := m.setStage(ctx, rtres.StageBooting); err != nil {
		return err
	}
	dirs := []struct {
		path string
		mode os.FileMode
	}{
		{constants.SystemRunDir, 0o755}, {constants.StateDir, 0o700},
		{constants.SystemSecretsDir, 0o700}, {constants.LogDir, 0o755},
	}
	for _, d := range dirs {
		if err := os.MkdirAll(m.path(d.path), d.mode); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	id, err := m.loadMachineID()
	if err != nil {
		return err
	}
	m.prepareCgroups()
	m.prepareNodeHost()
	m.mu.Lock()
	m.machineID = id
	m.mu.Unlock()
	return nil
}

// loadMachineID reads the machine id, creating it on first boot.
func (m *machined) loadMachineID() (string, error) {
	p := filepath.Join(m.path(constants.StateDir), machineIDFile)
	data, err := os.ReadFile(p)
	if err == nil && len(strings.TrimSpace(string(data))) > 0 {
		return strings.TrimSpace(string(data)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("machine id: %w", err)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	if err := fsutil.WriteFileAtomic(p, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("machine id: %w", err)
	}
	return id, nil
}

// startControllers registers the controllers and runs them for the
// machine's lifetime.
func (m *machined) startControllers(context.Context) error {
	m.mu.Lock()
	id := m.machineID
	m.mu.Unlock()
	eng := engine.New(m.state, m.opts.Logger, engine.Options{})
	deps := controllers.Deps{
		Root: m.opts.Root, Mode: m.opts.Mode, Logger: m.opts.Logger, SetHostname: setHostname(),
		Addresses: m.opts.Addresses, MachineID: id,
	}
	m.metal.fillDeps(&deps)
	for _, c := range append(controllers.All(deps), m.serviceReconciler()) {
		if err := eng.Register(c); err != nil {
			return fmt.Errorf("controllers: %w", err)
		}
	}
	if err := m.publishDefinitions(); err != nil {
		return err
	}
	m.wg.Go(func() {
		if err := eng.Run(m.life); err != nil {
			m.logger.Error("controller runtime failed", "error", err)
		}
	})
	return nil
}

// serviceReconciler runs the services ServiceConfig resources ask for.
// Service groups (and MemoryMax) only on metal, where machined owns the
// cgroup2 hierarchy.
func (m *machined) serviceReconciler() *services.ConfigReconciler {
	opts := services.RunOptions{Root: m.opts.Root, Reaper: m.reaper, Logger: m.opts.Logger}
	if m.metal != nil {
		opts.Cgroups = cgroup.NewManager(cgroup.Options{Logger: m.opts.Logger})
	}
	return &services.ConfigReconciler{Supervisor: m.sup, Options: opts, Active: m.servicesActive}
}

// servicesActive reports whether services may start: not while the node
// reboots, shuts down or resets, nor when services are disabled.
func (m *machined) servicesActive() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.opts.DisableServices && (m.stage == rtres.StageBooting || m.stage == rtres.StageRunning)
}

// publishDefinitions stores every registered definition as a resource, so
// clients list types like any other resource ("get rd").
func (m *machined) publishDefinitions() error {
	for _, d := range m.registry.List() {
		r := d.Resource()
		if err := runtime.ModifyTyped(m.life, m.state, r, func(cur *resourceDefinition) error {
			*cur.TypedSpec() = d
			return nil
		}); err != nil {
			return fmt.Errorf("publish definitions: %w", err)
		}
	}
	return nil
}

// loadConfig promotes a staged config, then loads and validates the
// stored one. Without a valid config the boot goes to maintenance mode.
func (m *machined) loadConfig(ctx context.Context) error {
	if promoted, err := m.store.PromoteStaged(); err != nil {
		return err
	} else if promoted {
		m.publishConfig("staged config promoted at boot")
	}
	raw, err := m.store.Load()
	if err != nil {
		return err
	}
	if raw == nil {
		m.logger.Info("no machine config in STATE")
		if b := m.fetchConfig(ctx); b != nil {
			m.mu.Lock()
			m.boot = b
			m.mu.Unlock()
		}
		return nil
	}
	cfg, warnings, err := apply.Parse(raw, m.opts.Mode)
	if err != nil {
		m.logger.Error("stored machine config is invalid: entering maintenance mode", "error", err)
		m.publishConfig("stored config is invalid: " + err.Error())
		return nil
	}
	for _, w := range warnings {
		m.logger.Warn("machine config warning", "warning", w)
	}
	m.mu.Lock()
	m.boot = &loaded{cfg: cfg, raw: raw}
	m.mu.Unlock()
	return nil
}

// waitInMaintenance serves the maintenance API until a config is applied,
// unless the boot already has one.
func (m *machined) waitInMaintenance(ctx context.Context) error {
	m.mu.Lock()
	have := m.boot != nil
	m.mu.Unlock()
	if have {
		return nil
	}
	m.applier.EnterMaintenance()
	if err := m.setStage(ctx, rtres.StageMaintenance); err != nil {
		return err
	}
	srv, err := maintenance.Start(maintenance.Options{
		Listen: m.opts.MaintenanceListen, Addresses: m.addrs, Machine: m.machineAPI,
		Resources: m.resourceAPI, Console: m.opts.Console, Logger: m.opts.Logger,
	})
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.maint = srv
	m.mu.Unlock()
	if m.opts.OnMaintenance != nil {
		m.opts.OnMaintenance(srv.Addr(), srv.Fingerprint())
	}
	cfg, raw, err := m.applier.WaitForConfig(ctx)
	m.stopMaintenance() // the port must be free before apid starts
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.boot = &loaded{cfg: cfg, raw: raw}
	m.mu.Unlock()
	return m.setStage(ctx, rtres.StageBooting)
}

func (m *machined) stopMaintenance() {
	m.mu.Lock()
	srv := m.maint
	m.maint = nil
	m.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}

// activateBootConfig makes the boot's config the active one.
func (m *machined) activateBootConfig(ctx context.Context) error {
	m.mu.Lock()
	b := m.boot
	m.mu.Unlock()
	if b == nil {
		return errNoConfig
	}
	if err := m.Activate(ctx, b.cfg, b.raw); err != nil {
		return err
	}
	m.applier.SetActive(b.cfg, b.raw)
	m.publishConfig("config loaded")
	return nil
}

// startServices loads and launches the services of the node's type.
func (m *machined) startServices(ctx context.Context) error {
	if m.opts.DisableServices {
		return m.setStage(ctx, rtres.StageRunning)
	}
	cfg, _ := m.applier.Active()
	typ := v1alpha1.TypeWorker
	if mc := cfg.Machine(); mc != nil && mc.Machine != nil {
		typ = mc.Machine.Type
	}
	svcs := services.ForMachineType(typ, services.Options{
		Root: m.opts.Root, Binary: m.opts.Binary, Env: m.serviceEnv, Reaper: m.reaper,
		Logger: m.opts.Logger, ExtraArgs: m.opts.ServiceArgs,
	})
	ids := make([]string, len(svcs))
	for i, s := range svcs {
		ids[i] = s.ID()
	}
	if err := m.sup.Load(svcs...); err != nil {
		return fmt.Errorf("services: %w", err)
	}
	if err := m.sup.Launch(ids...); err != nil {
		return fmt.Errorf("services: %w", err)
	}
	return m.setStage(ctx, rtres.StageRunning)
}
