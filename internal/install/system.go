package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-os/plinth/internal/install/bootloader"
	"github.com/plinth-os/plinth/internal/install/disk"
	"github.com/plinth-os/plinth/internal/install/meta"
	"github.com/plinth-os/plinth/internal/sys/mount"
	"github.com/plinth-os/plinth/pkg/machinery/bundle"
)

// Places on the node.
const (
	// ESPMount is where the EFI system partition is mounted while machined
	// writes it; it is unmounted otherwise.
	ESPMount = "/run/plinth/esp"
	// LoaderBinary is systemd-boot in the rootfs.
	LoaderBinary = "/usr/lib/plinth/systemd-bootx64.efi"
	// stagingDir on the ESP receives a bundle's files until they verify.
	stagingDir = "plinth/staging"
)

// ErrNotInstalled is returned by Open on a node without Plinth's disk.
var ErrNotInstalled = errors.New("Plinth is not installed to a disk")

// System is an installed node's system disk: its partitions and META.
// Its methods are safe for concurrent use.
type System struct {
	// Disk is the whole disk; the others are partition devices.
	Disk, ESP, Meta, State, Ephemeral string

	mu     sync.Mutex
	store  *meta.Store
	closer io.Closer
	log    *slog.Logger
}

// Open finds the partitions by their GPT names and opens META.
func Open(log *slog.Logger) (*System, error) {
	m, err := disk.Find(disk.LabelMeta)
	if errors.Is(err, disk.ErrNotFound) {
		return nil, ErrNotInstalled
	}
	if err != nil {
		return nil, err
	}
	s := &System{Disk: m.Disk, Meta: m.Device, log: log}
	for label, dst := range map[string]*string{disk.LabelEFI: &s.ESP, disk.LabelState: &s.State, disk.LabelEphemeral: &s.Ephemeral} {
		p, err := disk.FindOn(m.Disk, label)
		if err != nil {
			return nil, fmt.Errorf("disk %s has META but not %s: %w", m.Disk, label, err)
		}
		*dst = p.Device
	}
	if s.store, s.closer, err = meta.OpenPath(s.Meta); err != nil {
		return nil, fmt.Errorf("open META %s: %w", s.Meta, err)
	}
	return s, nil
}

// Close closes META.
func (s *System) Close() error {
	if s == nil || s.closer == nil {
		return nil
	}
	return s.closer.Close()
}

// Load reads the upgrade state from META; ok is false when META holds
// none (an install cut short before its last step).
func (s *System) Load() (State, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	values, err := s.store.Load()
	if err != nil {
		return State{}, false, fmt.Errorf("read META: %w", err)
	}
	return DecodeState(values)
}

// Update loads the state, applies change and saves it when change
// returns nil. Saving is atomic (META keeps the previous copy).
func (s *System) Update(change func(*State) error) (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	values, err := s.store.Load()
	if err != nil {
		return State{}, fmt.Errorf("read META: %w", err)
	}
	st, ok, err := DecodeState(values)
	if err != nil {
		return State{}, err
	}
	if !ok {
		return State{}, fmt.Errorf("META holds no upgrade state: %w", ErrNotInstalled)
	}
	if err := change(&st); err != nil {
		return State{}, err
	}
	if err := st.Encode(values); err != nil {
		return State{}, err
	}
	if err := s.store.Save(values); err != nil {
		return State{}, fmt.Errorf("write META: %w", err)
	}
	return st, nil
}

// save writes a whole state (install's last step).
func (s *System) save(st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	values, err := s.store.Load()
	if err != nil && !errors.Is(err, meta.ErrCorrupt) {
		return fmt.Errorf("read META: %w", err)
	}
	if values == nil {
		values = meta.Values{}
	}
	if err := st.Encode(values); err != nil {
		return err
	}
	if err := s.store.Save(values); err != nil {
		return fmt.Errorf("write META: %w", err)
	}
	return nil
}

// WithESP mounts the EFI system partition, runs fn on it and unmounts it
// (after syncing), so a power cut finds it clean.
func (s *System) WithESP(fn func(bootloader.ESP) error) error {
	return withESP(s.ESP, fn)
}

func withESP(dev string, fn func(bootloader.ESP) error) (err error) {
	p := mount.Point{Source: dev, Target: ESPMount, FSType: "vfat", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, Data: "umask=0077"}
	if err := p.Mount(); err != nil {
		return err
	}
	defer func() {
		unix.Sync()
		if uerr := unix.Unmount(ESPMount, 0); uerr != nil && err == nil {
			err = fmt.Errorf("unmount %s: %w", ESPMount, uerr)
		}
	}()
	return fn(bootloader.ESP{Root: ESPMount})
}

// WriteSlot streams a boot bundle into slot on the mounted ESP: the files
// go to a staging directory first and only a bundle whose every file
// verified is moved into the slot. It returns the bundle's manifest.
func WriteSlot(esp bootloader.ESP, slot Slot, src io.Reader, options string) (bundle.Manifest, error) {
	staging := filepath.Join(esp.Root, stagingDir)
	if err := os.RemoveAll(staging); err != nil {
		return bundle.Manifest{}, fmt.Errorf("clear %s: %w", staging, err)
	}
	if err := os.MkdirAll(staging, 0o700); err != nil {
		return bundle.Manifest{}, fmt.Errorf("staging: %w", err)
	}
	defer os.RemoveAll(staging) //nolint:errcheck // best effort: the next write clears it too
	m, err := bundle.Read(src, func(name string, _ int64) (io.WriteCloser, error) {
		return os.OpenFile(filepath.Join(staging, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	})
	if err != nil {
		return bundle.Manifest{}, fmt.Errorf("boot bundle: %w", err)
	}
	// Verified: the staged files become the slot by a rename, no copy.
	kernelRel, initrdRel := stagingDir+"/"+bundle.KernelName, stagingDir+"/"+bundle.InitrdName
	if err := esp.AdoptSlot(slot, m.Version, kernelRel, initrdRel, options); err != nil {
		return m, fmt.Errorf("write slot %s: %w", slot, err)
	}
	return m, nil
}

// Options tune Install.
type Options struct {
	// Disk is the whole-disk device to install to.
	Disk string
	// KernelOptions are the kernel arguments of the boot entries (besides
	// plinth.slot=, which the entries add).
	KernelOptions string
	// StateFrom is a directory whose files are copied into the new STATE
	// (the live boot's /system/state: config and machine id).
	StateFrom string
	// Loader is systemd-boot's binary (LoaderBinary when empty).
	Loader string
	Logger *slog.Logger
}

// Install partitions and formats opts.Disk, installs the boot loader,
// writes the bundle read from src into slot A, copies STATE and writes
// META last: a disk whose install was cut short has no upgrade state and
// is installed again from scratch. It returns the bundle's manifest.
func Install(ctx context.Context, src io.Reader, opts Options) (bundle.Manifest, error) {
	log := opts.Logger
	if opts.Loader == "" {
		opts.Loader = LoaderBinary
	}
	log.Info("installing", "disk", opts.Disk)
	if err := disk.Partition(opts.Disk, disk.DefaultLayout); err != nil {
		return bundle.Manifest{}, err
	}
	if err := disk.Reread(opts.Disk); err != nil {
		return bundle.Manifest{}, err
	}
	part := func(n int) string { return disk.PartitionDevice(opts.Disk, n) }
	if err := disk.Wipe(part(2)); err != nil {
		return bundle.Manifest{}, fmt.Errorf("clear META: %w", err)
	}
	if err := disk.FormatEFI(opts.Disk); err != nil {
		return bundle.Manifest{}, err
	}
	for n, label := range map[int]string{3: disk.LabelState, 4: disk.LabelEphemeral} {
		if err := disk.FormatExt4(part(n), label); err != nil {
			return bundle.Manifest{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return bundle.Manifest{}, err
	}
	var man bundle.Manifest
	err := withESP(part(1), func(esp bootloader.ESP) error {
		if err := esp.InstallLoader(opts.Loader); err != nil {
			return err
		}
		var err error
		if man, err = WriteSlot(esp, SlotA, src, opts.KernelOptions); err != nil {
			return err
		}
		return esp.SetDefault(bootloader.SlotA)
	})
	if err != nil {
		return bundle.Manifest{}, err
	}
	log.Info("boot slot A written", "version", man.Version)
	if opts.StateFrom != "" {
		if err := copyState(part(3), opts.StateFrom); err != nil {
			return man, err
		}
	}
	s := &System{Disk: opts.Disk, Meta: part(2), log: log}
	if s.store, s.closer, err = meta.OpenPath(s.Meta); err != nil {
		return man, fmt.Errorf("open META %s: %w", s.Meta, err)
	}
	defer s.Close()
	if err := s.save(NewState(opts.Disk, man.Version, time.Now())); err != nil {
		return man, err
	}
	unix.Sync()
	log.Info("installed", "disk", opts.Disk, "version", man.Version)
	return man, nil
}

// copyState copies the regular files of dir into the STATE partition.
func copyState(dev, dir string) (err error) {
	const target = "/run/plinth/new-state"
	p := mount.Point{Source: dev, Target: target, FSType: "ext4", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC}
	if err := p.Mount(); err != nil {
		return err
	}
	defer func() {
		unix.Sync()
		if uerr := unix.Unmount(target, 0); uerr != nil && err == nil {
			err = fmt.Errorf("unmount %s: %w", target, uerr)
		}
	}()
	if err := os.Chmod(target, 0o700); err != nil {
		return err
	}
	return os.CopyFS(target, os.DirFS(dir))
}
