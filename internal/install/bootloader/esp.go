package bootloader

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Paths on the ESP, relative to its root.
const (
	// FallbackLoaderPath is where firmware looks for a boot loader when no
	// boot entry names one.
	FallbackLoaderPath = "EFI/BOOT/BOOTX64.EFI"
	// LoaderPath is systemd-boot's own path.
	LoaderPath = "EFI/systemd/systemd-bootx64.efi"
	// LoaderConfPath is systemd-boot's configuration.
	LoaderConfPath = "loader/loader.conf"
	// EntriesDir holds the loader entries.
	EntriesDir = "loader/entries"
	// SlotsDir holds a directory per slot with its kernel and initramfs.
	SlotsDir = "plinth"
)

// ESP is an EFI System Partition mounted at Root (or, in tests, any
// directory).
type ESP struct {
	Root string
}

// kernelPath and initrdPath are the slot's files, relative to the ESP.
func kernelPath(s Slot) string { return path.Join(SlotsDir, string(s), "vmlinuz") }
func initrdPath(s Slot) string { return path.Join(SlotsDir, string(s), "initramfs") }
func entryPath(s Slot) string  { return path.Join(EntriesDir, EntryName(s)) }

// abs is the path of the ESP-relative rel.
func (e ESP) abs(rel string) string { return filepath.Join(e.Root, filepath.FromSlash(rel)) }

// InstallLoader copies the systemd-boot binary at efiBinary (Debian's
// /usr/lib/systemd/boot/efi/systemd-bootx64.efi) to both loader paths and,
// when the ESP has no loader.conf yet, writes one that boots slot A.
func (e ESP) InstallLoader(efiBinary string) error {
	for _, dst := range []string{FallbackLoaderPath, LoaderPath} {
		if err := e.copyIn(efiBinary, dst); err != nil {
			return err
		}
	}
	if err := e.mkdirs(EntriesDir); err != nil {
		return fmt.Errorf("install loader on %s: %w", e.Root, err)
	}
	switch _, err := os.Stat(e.abs(LoaderConfPath)); {
	case errors.Is(err, os.ErrNotExist):
		return e.SetDefault(SlotA)
	case err != nil:
		return fmt.Errorf("install loader on %s: %w", e.Root, err)
	}
	return nil
}

// copyIn copies the file at src to the ESP-relative dst.
func (e ESP) copyIn(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("install loader on %s: %w", e.Root, err)
	}
	defer f.Close()
	if err := e.writeFile(dst, f); err != nil {
		return fmt.Errorf("install loader on %s: copy %s: %w", e.Root, src, err)
	}
	return nil
}

// loaderConf is loader.conf committing to slot: boot its entry at once
// (no menu, no editor, no other entries), leaving the console as the
// firmware set it.
func loaderConf(slot Slot) string {
	return "default " + EntryName(slot) + "\n" +
		"timeout 0\n" +
		"console-mode keep\n" +
		"editor no\n" +
		"auto-entries no\n" +
		"auto-firmware no\n" +
		"random-seed-mode off\n"
}

// SetDefault makes slot the one systemd-boot boots by default (when no
// one-shot entry is set): it rewrites loader.conf atomically.
func (e ESP) SetDefault(slot Slot) error {
	if err := slot.valid(); err != nil {
		return fmt.Errorf("set default boot slot on %s: %w", e.Root, err)
	}
	if err := e.writeFile(LoaderConfPath, strings.NewReader(loaderConf(slot))); err != nil {
		return fmt.Errorf("set default boot slot %s on %s: %w", slot, e.Root, err)
	}
	return nil
}

// Default is the slot loader.conf boots by default.
func (e ESP) Default() (Slot, error) {
	b, err := os.ReadFile(e.abs(LoaderConfPath))
	if err != nil {
		return "", fmt.Errorf("default boot slot: %w", err)
	}
	name, ok := confValue(b, "default")
	if !ok {
		return "", fmt.Errorf("default boot slot: %s has no default", e.abs(LoaderConfPath))
	}
	slot, ok := EntrySlot(name)
	if !ok {
		return "", fmt.Errorf("default boot slot: %s: default %q is not a Plinth slot's entry", e.abs(LoaderConfPath), name)
	}
	return slot, nil
}

// checkEntryFields refuses what cannot go on one line of an entry.
func checkEntryFields(slot Slot, version, options string) error {
	if err := slot.valid(); err != nil {
		return err
	}
	if strings.TrimSpace(version) == "" || strings.ContainsAny(version, "\r\n\x00") {
		return fmt.Errorf("invalid version %q: want one non-empty line", version)
	}
	if strings.ContainsAny(options, "\r\n\x00") {
		return fmt.Errorf("invalid kernel options %q: want one line", options)
	}
	return nil
}

// entry is the loader entry of slot (Boot Loader Specification, type #1).
func entry(slot Slot, version, options string) string {
	opts := strings.TrimSpace(options + " plinth.slot=" + string(slot))
	return fmt.Sprintf("title Plinth %s (slot %s)\nversion %s\nlinux /%s\ninitrd /%s\noptions %s\n",
		version, slot, version, kernelPath(slot), initrdPath(slot), opts)
}

// Entry reads the slot's loader entry and returns its version; ok is false
// when the slot has no entry.
func (e ESP) Entry(slot Slot) (version string, ok bool, err error) {
	if err := slot.valid(); err != nil {
		return "", false, fmt.Errorf("read boot entry on %s: %w", e.Root, err)
	}
	p := e.abs(entryPath(slot))
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read boot entry: %w", err)
	}
	version, ok = confValue(b, "version")
	if !ok {
		return "", false, fmt.Errorf("read boot entry %s: no version", p)
	}
	return version, true, nil
}

// confValue is the value of the last line "key value" of a loader
// configuration file ('#' starts a comment line).
func confValue(b []byte, key string) (value string, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			k, v = line[:i], strings.TrimSpace(line[i:])
		}
		if k == key {
			value, ok = v, true
		}
	}
	return value, ok
}

// AdoptSlot makes files already written and verified on this ESP (rel
// paths, e.g. a staging directory) the slot's kernel and initramfs by
// renaming them, which costs no copy. The slot's entry goes first and is
// written last, so an interrupted or failed AdoptSlot leaves the slot
// without an entry: never offered by the boot loader, and never pairing
// an old entry with new files.
func (e ESP) AdoptSlot(slot Slot, version, kernelRel, initrdRel, options string) error {
	if err := checkEntryFields(slot, version, options); err != nil {
		return fmt.Errorf("adopt boot slot %s on %s: %w", slot, e.Root, err)
	}
	if err := e.removeFile(entryPath(slot)); err != nil {
		return fmt.Errorf("adopt boot slot %s on %s: %w", slot, e.Root, err)
	}
	if err := e.mkdirs(path.Join(SlotsDir, string(slot))); err != nil {
		return fmt.Errorf("adopt boot slot %s on %s: %w", slot, e.Root, err)
	}
	for _, f := range [][2]string{{kernelRel, kernelPath(slot)}, {initrdRel, initrdPath(slot)}} {
		if err := os.Rename(e.abs(f[0]), e.abs(f[1])); err != nil {
			return fmt.Errorf("adopt boot slot %s on %s: %w", slot, e.Root, err)
		}
	}
	if err := syncDir(e.abs(path.Join(SlotsDir, string(slot)))); err != nil {
		return fmt.Errorf("adopt boot slot %s on %s: %w", slot, e.Root, err)
	}
	if err := e.writeFile(entryPath(slot), strings.NewReader(entry(slot, version, options))); err != nil {
		return fmt.Errorf("adopt boot slot %s on %s: %w", slot, e.Root, err)
	}
	return nil
}

// SlotFiles are the absolute paths of the slot's kernel and initramfs.
func (e ESP) SlotFiles(slot Slot) (kernel, initrd string) {
	return e.abs(kernelPath(slot)), e.abs(initrdPath(slot))
}
