package machined

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/internal/install"
	"github.com/plinth-os/plinth/internal/install/bootloader"
	"github.com/plinth-os/plinth/internal/install/disk"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/sys/mount"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// slotArg is the kernel argument of the boot entries naming their slot.
const slotArg = "plinth.slot"

// efivarsDir is where efivarfs is mounted.
const efivarsDir = "/sys/firmware/efi/efivars"

// mountDisks finds an installed system disk (metal only): it reformats
// the partitions a reset asked to wipe, mounts STATE on /system/state and
// EPHEMERAL on /var, records the boot in META (ending a failed trial as
// rolled back) and, on a trial boot, starts the health gate. Without a
// disk the boot goes on from memory (a live boot).
func (m *machined) mountDisks(ctx context.Context) error {
	if m.metal == nil {
		return nil
	}
	m.mountEFIVars()
	sys, err := install.Open(m.opts.Logger)
	if err != nil {
		if !errors.Is(err, install.ErrNotInstalled) {
			m.logger.Error("system disk unusable: booting from memory", "error", err)
		}
		return m.publishBoot(ctx, nil, install.State{}, "")
	}
	st, ok, err := sys.Load()
	if err != nil || !ok {
		m.logger.Error("system disk without upgrade state (an install cut short?): booting from memory; the install runs again", "disk", sys.Disk, "error", err)
		_ = sys.Close()
		return m.publishBoot(ctx, nil, install.State{}, "")
	}
	if len(st.Wipe) > 0 {
		if err := m.wipePartitions(sys, st.Wipe); err != nil {
			return err
		}
		if st, err = sys.Update(func(s *install.State) error { s.Wipe = nil; return nil }); err != nil {
			return err
		}
	}
	for _, p := range []mount.Point{
		{Source: sys.State, Target: m.path(constants.StateDir), FSType: "ext4", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{Source: sys.Ephemeral, Target: m.path(constants.VarDir), FSType: "ext4", Flags: unix.MS_NOSUID | unix.MS_NODEV},
	} {
		if err := p.Mount(); err != nil {
			return fmt.Errorf("system disk: %w", err)
		}
	}
	var slot install.Slot // none on a live boot
	if arg, ok := m.metal.cmdline.Get(slotArg); ok {
		if slot, err = bootloader.ParseSlot(arg); err != nil {
			m.logger.Warn("kernel argument ignored", "error", err)
		}
	}
	var kind install.BootKind
	st, err = sys.Update(func(s *install.State) error { kind = s.Boot(slot, time.Now()); return nil })
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.sys, m.bootSlot = sys, slot
	m.mu.Unlock()
	m.logger.Info("system disk mounted", "disk", sys.Disk, "slot", slot, "committed", st.Committed)
	if l := st.Last; l != nil && l.Result == install.ResultRolledBack && time.Since(l.At) < time.Minute {
		m.logger.Warn("upgrade rolled back", "from", l.FromVersion, "to", l.ToVersion, "reason", l.Reason)
	}
	if kind == install.BootTrial {
		tr := *st.Trial
		m.logger.Info("trial boot of a new version: health gate started", "slot", tr.Slot, "version", tr.Version, "timeout", tr.Timeout)
		m.wg.Go(func() { m.healthGate(tr) })
	}
	return m.publishBoot(ctx, sys, st, slot)
}

// mountEFIVars mounts efivarfs when the firmware is UEFI.
func (m *machined) mountEFIVars() {
	if _, err := os.Stat("/sys/firmware/efi"); err != nil {
		return
	}
	if ok, _ := mount.IsMountPoint(efivarsDir); ok {
		return
	}
	p := mount.Point{Source: "efivarfs", Target: efivarsDir, FSType: "efivarfs", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC}
	if err := p.Mount(); err != nil {
		m.logger.Warn("EFI variables unavailable: upgrades cannot arm a one-time boot", "error", err)
	}
}

// wipePartitions reformats the labelled partitions (a reset's request).
func (m *machined) wipePartitions(sys *install.System, labels []string) error {
	for _, label := range labels {
		dev := map[string]string{disk.LabelState: sys.State, disk.LabelEphemeral: sys.Ephemeral}[label]
		if dev == "" {
			m.logger.Warn("reset asked to wipe an unknown partition: skipped", "label", label)
			continue
		}
		if err := disk.Wipe(dev); err != nil {
			return fmt.Errorf("wipe %s: %w", label, err)
		}
		if err := disk.FormatExt4(dev, label); err != nil {
			return fmt.Errorf("wipe %s: %w", label, err)
		}
		m.logger.Info("partition wiped", "label", label, "device", dev)
	}
	return nil
}

// installIfAsked installs the node to machine.install.disk on a live
// boot, from machine.install.image, then reboots into the disk. A failed
// install is reported and the boot goes on from memory.
func (m *machined) installIfAsked(ctx context.Context) error {
	m.mu.Lock()
	installed := m.sys != nil
	m.mu.Unlock()
	if m.metal == nil || installed {
		return nil
	}
	cfg, _ := m.applier.Active()
	mc := cfg.Machine()
	if mc == nil || mc.Machine == nil || mc.Machine.Install == nil || mc.Machine.Install.Disk == "" {
		return nil
	}
	inst := mc.Machine.Install
	if inst.Image == "" {
		m.logger.Error("machine.install.disk is set but machine.install.image is empty: the running image cannot copy itself; set machine.install.image to a boot bundle URL or run `plinthctl upgrade --image`", "disk", inst.Disk)
		return nil
	}
	src, err := openBundle(ctx, inst.Image)
	if err != nil {
		m.installFailed(ctx, inst.Disk, err)
		return nil
	}
	defer src.Close()
	if _, err := m.installTo(ctx, inst.Disk, src); err != nil {
		m.installFailed(ctx, inst.Disk, err)
		return nil
	}
	if err := m.setStage(ctx, rtres.StageRebooting); err != nil {
		return err
	}
	m.logger.Info("installed: rebooting into the disk")
	return m.power.Reboot(ctx)
}

// installTo installs the bundle read from src to disk.
func (m *machined) installTo(ctx context.Context, diskDev string, src io.Reader) (string, error) {
	man, err := install.Install(ctx, src, install.Options{
		Disk: diskDev, KernelOptions: m.kernelOptions(), StateFrom: m.path(constants.StateDir), Logger: m.opts.Logger,
	})
	if err != nil {
		return "", fmt.Errorf("install to %s: %w", diskDev, err)
	}
	return man.Version, nil
}

func (m *machined) installFailed(ctx context.Context, diskDev string, err error) {
	m.logger.Error("install failed: running from memory", "disk", diskDev, "error", err)
	_ = runtime.ModifyTyped(ctx, m.state, rtres.NewBootStatus(), func(b *rtres.BootStatus) error {
		b.TypedSpec().LastUpgrade = &rtres.UpgradeResult{Result: install.ResultFailed, ToVersion: "", Reason: "install: " + err.Error(), At: time.Now()}
		return nil
	})
}

// kernelOptions are the boot entries' kernel arguments: this boot's,
// without what only a live boot or one slot needs.
func (m *machined) kernelOptions() string {
	var keep []string
	for _, a := range m.metal.cmdline.Args {
		switch a.Key {
		case "plinth.config", slotArg, "BOOT_IMAGE", "initrd":
			continue
		}
		if !a.HasValue {
			keep = append(keep, a.Key)
		} else {
			keep = append(keep, a.Key+"="+a.Value)
		}
	}
	if len(keep) == 0 {
		return "console=ttyS0"
	}
	return strings.Join(keep, " ")
}

// openBundle opens a boot bundle at an http(s) URL or a path on the node.
func openBundle(ctx context.Context, src string) (io.ReadCloser, error) {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		return os.Open(src)
	}
	var lastErr error
	for attempt := 0; attempt < 10; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, fmt.Errorf("boot bundle %s: %w", src, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil && resp.StatusCode == http.StatusOK {
			return resp.Body, nil
		}
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("HTTP %s", resp.Status)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * time.Second):
		}
	}
	return nil, fmt.Errorf("boot bundle %s: %w", src, lastErr)
}

// publishBoot writes the BootStatus resource.
func (m *machined) publishBoot(ctx context.Context, sys *install.System, st install.State, booted install.Slot) error {
	return runtime.ModifyTyped(ctx, m.state, rtres.NewBootStatus(), func(b *rtres.BootStatus) error {
		spec := b.TypedSpec()
		last := spec.LastUpgrade
		*spec = rtres.BootStatusSpec{}
		if sys == nil {
			spec.LastUpgrade = last
			return nil
		}
		spec.Installed, spec.Disk, spec.BootedSlot, spec.DefaultSlot = true, sys.Disk, string(booted), string(st.Committed)
		for _, name := range []install.Slot{install.SlotA, install.SlotB} {
			info := st.Slots[name]
			spec.Slots = append(spec.Slots, rtres.BootSlotStatus{Name: string(name), Version: info.Version, Complete: info.Complete})
		}
		if t := st.Trial; t != nil {
			spec.TrialSlot, spec.TrialVersion = string(t.Slot), t.Version
			if t.Reached {
				spec.TrialDeadline = t.Started.Add(t.Timeout)
			}
		}
		if l := st.Last; l != nil {
			spec.LastUpgrade = &rtres.UpgradeResult{Result: l.Result, Slot: string(l.Slot), FromVersion: l.FromVersion, ToVersion: l.ToVersion, Reason: l.Reason, At: l.At}
		}
		return nil
	})
}

// markWipe records in META which partitions the next boot reformats
// before mounting them (STATE always, EPHEMERAL when asked), so a reset
// of an installed node leaves nothing of either, even if the contents
// could not all be removed while mounted. A pending upgrade trial ends.
func (m *machined) markWipe(opts server.ResetOptions) func(context.Context) error {
	return func(context.Context) error {
		m.mu.Lock()
		sys := m.sys
		m.mu.Unlock()
		if sys == nil {
			return nil
		}
		labels := []string{disk.LabelState}
		if opts.WipeEphemeral {
			labels = append(labels, disk.LabelEphemeral)
		}
		_, err := sys.Update(func(s *install.State) error {
			s.Wipe, s.Trial = labels, nil
			return nil
		})
		if err != nil {
			return fmt.Errorf("reset: %w", err)
		}
		m.logger.Info("reset: partitions to reformat at the next boot", "labels", labels)
		return nil
	}
}
