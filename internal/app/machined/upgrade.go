package machined

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/internal/app/machined/power"
	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/internal/controllers/k8s"
	"github.com/plinth-os/plinth/internal/install"
	"github.com/plinth-os/plinth/internal/install/bootloader"
	"github.com/plinth-os/plinth/internal/sys/kexec"
	"github.com/plinth-os/plinth/pkg/machinery/version"
)

// kexecArg=0 (or off) on the kernel command line makes upgrades reboot
// through the firmware instead of kexec.
const kexecArg = "plinth.kexec"

// gateInterval is how often the health gate probes.
const gateInterval = 2 * time.Second

// errUpgradeBusy refuses a second upgrade while one writes.
var errUpgradeBusy = status.Error(codes.FailedPrecondition, "an upgrade or rollback is already running on this node")

// Upgrade implements server.Upgrader.
func (m *machined) Upgrade(ctx context.Context, opts server.UpgradeOptions, src io.Reader) (server.UpgradeResult, error) {
	if m.metal == nil {
		return server.UpgradeResult{}, status.Error(codes.FailedPrecondition, "upgrade: this node is not a metal node (container nodes are upgraded by replacing their image)")
	}
	if !m.upgrading.TryLock() {
		return server.UpgradeResult{}, errUpgradeBusy
	}
	defer m.upgrading.Unlock()
	if opts.URL != "" {
		body, err := openBundle(ctx, opts.URL)
		if err != nil {
			return server.UpgradeResult{}, status.Error(codes.InvalidArgument, err.Error())
		}
		defer body.Close()
		src = body
	}
	m.mu.Lock()
	sys := m.sys
	m.mu.Unlock()
	if sys == nil {
		return m.upgradeByInstall(ctx, opts, src)
	}
	if !opts.Force {
		if err := m.checkQuorum(ctx); err != nil {
			return server.UpgradeResult{}, err
		}
	}
	timeout := opts.HealthTimeout
	if timeout == 0 {
		timeout = install.DefaultHealthTimeout
	}
	st, _, err := sys.Load()
	if err != nil {
		return server.UpgradeResult{}, err
	}
	vars := bootloader.Vars{Dir: efivarsDir}
	if !vars.Available() {
		return server.UpgradeResult{}, status.Error(codes.FailedPrecondition, "upgrade: EFI variables are unavailable (not booted by UEFI?): a new version cannot be booted once without risking a boot loop")
	}
	slot := st.Inactive()
	if _, err := sys.Update(func(s *install.State) error { return s.BeginWrite(slot) }); err != nil {
		return server.UpgradeResult{}, status.Error(codes.FailedPrecondition, err.Error())
	}
	m.logger.Info("upgrade: writing boot slot", "slot", slot)
	var man string
	err = sys.WithESP(func(esp bootloader.ESP) error {
		mf, err := install.WriteSlot(esp, slot, src, m.kernelOptions())
		man = mf.Version
		return err
	})
	if err != nil {
		m.logger.Error("upgrade failed: the slot stays incomplete, nothing else changed", "slot", slot, "error", err)
		return server.UpgradeResult{}, status.Error(codes.InvalidArgument, fmt.Sprintf("upgrade: %v", err))
	}
	requireReady := m.nodeReady(ctx) == nil
	st, err = sys.Update(func(s *install.State) error {
		s.Written(slot, man, time.Now())
		if err := s.StartTrial(slot, timeout, time.Now()); err != nil {
			return err
		}
		s.Trial.RequireNodeReady = requireReady
		return nil
	})
	if err != nil {
		return server.UpgradeResult{}, err
	}
	if err := vars.SetOneShot(bootloader.EntryName(slot)); err != nil {
		return server.UpgradeResult{}, fmt.Errorf("upgrade: arm the one-time boot of slot %s: %w", slot, err)
	}
	_ = m.publishBoot(ctx, sys, st, m.bootSlotName())
	res := server.UpgradeResult{Version: man, FromVersion: version.Tag, Slot: string(slot), Rebooting: !opts.Stage}
	m.logger.Info("upgrade: slot written and armed for the next boot", "slot", slot, "version", man, "staged", opts.Stage, "health_timeout", timeout, "gate_node_ready", requireReady)
	if !opts.Stage {
		if err := m.rebootIntoSlot(ctx, sys, slot); err != nil {
			return res, err
		}
	}
	return res, nil
}

// rebootIntoSlot reboots into the armed slot: by kexec when the kernel
// loads the slot's files (the one-shot EFI variable is cleared just before
// the jump, so a new kernel that fails still ends on the default slot),
// else through the firmware, which takes the one-shot entry.
func (m *machined) rebootIntoSlot(ctx context.Context, sys *install.System, slot install.Slot) error {
	kx, ok := m.power.(power.Kexecer)
	if v, _ := m.metal.cmdline.Get(kexecArg); !ok || v == "0" || v == "off" {
		return m.Reboot(ctx)
	}
	err := sys.WithESP(func(esp bootloader.ESP) error {
		k, i := esp.SlotFiles(slot)
		return kexec.Load(k, i, m.kernelOptions()+" "+slotArg+"="+string(slot))
	})
	if err != nil {
		m.logger.Warn("kexec unavailable: rebooting through the firmware", "error", err)
		return m.Reboot(ctx)
	}
	vars := bootloader.Vars{Dir: efivarsDir}
	entry := bootloader.EntryName(slot)
	seq := m.rebootSequence()
	seq.Phases[len(seq.Phases)-1].Step = func(ctx context.Context) error {
		if err := vars.ClearOneShot(); err != nil {
			m.logger.Warn("one-shot boot variable not cleared: rebooting through the firmware", "error", err)
			return m.power.Reboot(ctx)
		}
		err := kx.Kexec(ctx)
		m.logger.Error("kexec failed: rebooting through the firmware", "error", err)
		if err := vars.SetOneShot(entry); err != nil {
			m.logger.Error("one-shot boot variable not set again: the old slot boots", "error", err)
		}
		return m.power.Reboot(ctx)
	}
	return m.startSequence(seq)
}

// upgradeByInstall installs a node that booted from memory to its
// machine.install.disk, from the bundle, and reboots into it.
func (m *machined) upgradeByInstall(ctx context.Context, opts server.UpgradeOptions, src io.Reader) (server.UpgradeResult, error) {
	cfg, _ := m.applier.Active()
	mc := cfg.Machine()
	if mc == nil || mc.Machine == nil || mc.Machine.Install == nil || mc.Machine.Install.Disk == "" {
		return server.UpgradeResult{}, status.Error(codes.FailedPrecondition, "upgrade: this node runs from memory and its config sets no machine.install.disk to install to")
	}
	v, err := m.installTo(ctx, mc.Machine.Install.Disk, src)
	if err != nil {
		return server.UpgradeResult{}, status.Error(codes.InvalidArgument, err.Error())
	}
	res := server.UpgradeResult{Version: v, FromVersion: version.Tag, Slot: "install", Rebooting: !opts.Stage}
	if !opts.Stage {
		if err := m.Reboot(ctx); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Rollback implements server.Upgrader.
func (m *machined) Rollback(ctx context.Context) (server.RollbackResult, error) {
	m.mu.Lock()
	sys := m.sys
	m.mu.Unlock()
	if sys == nil {
		return server.RollbackResult{}, status.Error(codes.FailedPrecondition, "rollback: this node is not installed to a disk")
	}
	if !m.upgrading.TryLock() {
		return server.RollbackResult{}, errUpgradeBusy
	}
	defer m.upgrading.Unlock()
	var target install.Slot
	st, err := sys.Update(func(s *install.State) error {
		var err error
		target, err = s.Rollback(m.bootSlotName(), time.Now())
		return err
	})
	if err != nil {
		return server.RollbackResult{}, status.Error(codes.FailedPrecondition, "rollback: "+err.Error())
	}
	if err := sys.WithESP(func(esp bootloader.ESP) error { return esp.SetDefault(target) }); err != nil {
		return server.RollbackResult{}, fmt.Errorf("rollback: %w", err)
	}
	_ = bootloader.Vars{Dir: efivarsDir}.ClearOneShot()
	_ = m.publishBoot(ctx, sys, st, m.bootSlotName())
	m.logger.Info("rollback: rebooting into the other slot", "slot", target, "version", st.Slots[target].Version)
	if err := m.Reboot(ctx); err != nil {
		return server.RollbackResult{}, err
	}
	return server.RollbackResult{Slot: string(target), Version: st.Slots[target].Version}, nil
}

func (m *machined) bootSlotName() install.Slot {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bootSlot
}

// healthGate waits for the trial boot to be healthy: it commits the slot
// (META, then the boot loader's default), or records why not and reboots
// into the old slot.
func (m *machined) healthGate(tr install.Trial) {
	checks := []install.Check{{Name: "apid", Probe: func(context.Context) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		if !m.apidRunning {
			return errors.New("apid is not running")
		}
		return nil
	}}}
	if tr.RequireNodeReady {
		checks = append(checks, install.Check{Name: "kubelet", Probe: m.nodeReady})
	}
	err := install.WaitHealthy(m.life, checks, tr.Started.Add(tr.Timeout), gateInterval)
	if m.life.Err() != nil {
		return // machined stops: the next boot decides
	}
	m.mu.Lock()
	sys := m.sys
	m.mu.Unlock()
	if err == nil {
		st, uerr := sys.Update(func(s *install.State) error { return s.Commit(time.Now()) })
		if uerr == nil {
			uerr = sys.WithESP(func(esp bootloader.ESP) error { return esp.SetDefault(tr.Slot) })
		}
		if uerr != nil {
			m.logger.Error("health gate passed but the commit failed: the old slot stays the default", "error", uerr)
			return
		}
		_ = m.publishBoot(m.life, sys, st, tr.Slot)
		m.logger.Info("upgrade committed: health gate passed", "slot", tr.Slot, "version", tr.Version)
		return
	}
	m.logger.Error("health gate failed: rebooting into the previous version", "slot", tr.Slot, "version", tr.Version, "error", err)
	if _, uerr := sys.Update(func(s *install.State) error { return s.FailTrial(err.Error()) }); uerr != nil {
		m.logger.Error("verdict not recorded", "error", uerr)
	}
	_ = bootloader.Vars{Dir: efivarsDir}.ClearOneShot()
	m.rebootNow()
}

// rebootNow reboots, interrupting whatever sequence runs.
func (m *machined) rebootNow() {
	if err := m.seq.Preempt(m.life, m.rebootSequence()); err != nil {
		m.logger.Error("reboot failed", "error", err)
	}
}

// nodeReady is nil when this node's kubelet reports the Node Ready.
func (m *machined) nodeReady(ctx context.Context) error {
	name, err := m.Hostname(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return k8s.NodeReady(ctx, m.opts.Root, name)
}
