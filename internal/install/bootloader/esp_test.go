package bootloader

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newESP(t *testing.T) ESP {
	t.Helper()
	return ESP{Root: t.TempDir()}
}

func readESP(t *testing.T, e ESP, rel string) string {
	t.Helper()
	b, err := os.ReadFile(e.abs(rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(e ESP, rel string) bool {
	_, err := os.Lstat(e.abs(rel))
	return err == nil
}

// noTemps fails when a temporary file is left anywhere on the ESP.
func noTemps(t *testing.T, e ESP) {
	t.Helper()
	filepath.WalkDir(e.Root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".tmp") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func TestSlots(t *testing.T) {
	for in, want := range map[string]Slot{"A": SlotA, "a": SlotA, "B": SlotB, "b": SlotB} {
		got, err := ParseSlot(in)
		if err != nil || got != want {
			t.Errorf("ParseSlot(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "C", "AB", " a"} {
		if _, err := ParseSlot(in); err == nil {
			t.Errorf("ParseSlot(%q): no error", in)
		}
	}
	if SlotA.Other() != SlotB || SlotB.Other() != SlotA {
		t.Error("Other does not swap A and B")
	}
	if EntryName(SlotA) != "plinth-a.conf" || EntryName(SlotB) != "plinth-b.conf" {
		t.Errorf("EntryName = %q, %q", EntryName(SlotA), EntryName(SlotB))
	}
	if s, ok := EntrySlot("plinth-b.conf"); !ok || s != SlotB {
		t.Errorf("EntrySlot(plinth-b.conf) = %q, %v", s, ok)
	}
	if _, ok := EntrySlot("auto-efi-shell"); ok {
		t.Error("EntrySlot accepts a foreign entry")
	}
}

const wantLoaderConf = `default plinth-a.conf
timeout 0
console-mode keep
editor no
auto-entries no
auto-firmware no
random-seed-mode off
`

func TestInstallLoader(t *testing.T) {
	e := newESP(t)
	bin := filepath.Join(t.TempDir(), "systemd-bootx64.efi")
	if err := os.WriteFile(bin, []byte("MZ fake systemd-boot"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.InstallLoader(bin); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"EFI/BOOT/BOOTX64.EFI", "EFI/systemd/systemd-bootx64.efi"} {
		if got := readESP(t, e, p); got != "MZ fake systemd-boot" {
			t.Errorf("%s = %q, want the loader binary", p, got)
		}
	}
	if got := readESP(t, e, "loader/loader.conf"); got != wantLoaderConf {
		t.Errorf("loader.conf:\n%s\nwant:\n%s", got, wantLoaderConf)
	}
	if fi, err := os.Stat(e.abs("loader/entries")); err != nil || !fi.IsDir() {
		t.Errorf("loader/entries not made: %v", err)
	}
	// Reinstalling (a new loader) keeps the committed slot.
	if err := e.SetDefault(SlotB); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("MZ newer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.InstallLoader(bin); err != nil {
		t.Fatal(err)
	}
	if got := readESP(t, e, "EFI/BOOT/BOOTX64.EFI"); got != "MZ newer" {
		t.Errorf("BOOTX64.EFI = %q after reinstalling", got)
	}
	if s, err := e.Default(); err != nil || s != SlotB {
		t.Errorf("Default after reinstalling = %q, %v; want B", s, err)
	}
	noTemps(t, e)

	if err := e.InstallLoader(filepath.Join(t.TempDir(), "absent.efi")); err == nil || !strings.Contains(err.Error(), "absent.efi") {
		t.Errorf("InstallLoader of a missing binary: error %v, want one naming it", err)
	}
}

func TestDefault(t *testing.T) {
	e := newESP(t)
	if _, err := e.Default(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Default without loader.conf: error %v, want not exist", err)
	}
	for _, s := range []Slot{SlotB, SlotA, SlotB} {
		if err := e.SetDefault(s); err != nil {
			t.Fatal(err)
		}
		got, err := e.Default()
		if err != nil || got != s {
			t.Errorf("Default after SetDefault(%s) = %q, %v", s, got, err)
		}
	}
	if got := readESP(t, e, "loader/loader.conf"); !strings.HasPrefix(got, "default plinth-b.conf\ntimeout 0\n") {
		t.Errorf("loader.conf:\n%s", got)
	}
	if err := e.SetDefault("C"); err == nil {
		t.Error("SetDefault(C): no error")
	}
	noTemps(t, e)

	// Hand-edited files are read the way systemd-boot reads them.
	for conf, want := range map[string]Slot{
		"# comment\ntimeout 3\ndefault\tplinth-b.conf\n": SlotB,
		"default plinth-b.conf\ndefault PLINTH-A.conf\n": SlotA,
	} {
		os.WriteFile(e.abs(LoaderConfPath), []byte(conf), 0o644)
		if got, err := e.Default(); err != nil || got != want {
			t.Errorf("Default of %q = %q, %v; want %s", conf, got, err, want)
		}
	}
	for _, conf := range []string{"timeout 0\n", "default auto-efi-shell\n"} {
		os.WriteFile(e.abs(LoaderConfPath), []byte(conf), 0o644)
		if _, err := e.Default(); err == nil {
			t.Errorf("Default of %q: no error", conf)
		}
	}
}

// adopt stages a kernel and initramfs holding the given text on the ESP
// and adopts them as slot's.
func adopt(t *testing.T, e ESP, slot Slot, version, kernel, initrd, options string) error {
	t.Helper()
	if err := os.MkdirAll(e.abs("plinth/staging"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"vmlinuz": kernel, "initramfs": initrd} {
		if err := os.WriteFile(e.abs("plinth/staging/"+name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return e.AdoptSlot(slot, version, "plinth/staging/vmlinuz", "plinth/staging/initramfs", options)
}

func TestAdoptSlotEntries(t *testing.T) {
	e := newESP(t)
	if err := adopt(t, e, SlotA, "v1.0.0", "kernel A", "initrd A", "console=ttyS0 quiet"); err != nil {
		t.Fatal(err)
	}
	want := "title Plinth v1.0.0 (slot A)\n" +
		"version v1.0.0\n" +
		"linux /plinth/A/vmlinuz\n" +
		"initrd /plinth/A/initramfs\n" +
		"options console=ttyS0 quiet plinth.slot=A\n"
	if got := readESP(t, e, "loader/entries/plinth-a.conf"); got != want {
		t.Errorf("entry:\n%s\nwant:\n%s", got, want)
	}
	if readESP(t, e, "plinth/A/vmlinuz") != "kernel A" || readESP(t, e, "plinth/A/initramfs") != "initrd A" {
		t.Error("slot A's files do not hold what was staged")
	}
	if v, ok, err := e.Entry(SlotA); err != nil || !ok || v != "v1.0.0" {
		t.Errorf("Entry(A) = %q, %v, %v", v, ok, err)
	}
	if _, ok, err := e.Entry(SlotB); err != nil || ok {
		t.Errorf("Entry(B) without a slot B = %v, %v; want absent", ok, err)
	}

	// Slot B with no options, then replaced by a newer version.
	if err := adopt(t, e, SlotB, "v1.1.0", "kernel B", "initrd B", ""); err != nil {
		t.Fatal(err)
	}
	if got := readESP(t, e, "loader/entries/plinth-b.conf"); !strings.HasSuffix(got, "\noptions plinth.slot=B\n") {
		t.Errorf("entry without options:\n%s", got)
	}
	if err := adopt(t, e, SlotB, "v1.2.0", "kernel B2", "initrd B2", "quiet"); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := e.Entry(SlotB); !ok || v != "v1.2.0" || readESP(t, e, "plinth/B/vmlinuz") != "kernel B2" {
		t.Errorf("replaced slot B: version %q, kernel %q", v, readESP(t, e, "plinth/B/vmlinuz"))
	}
	noTemps(t, e)
}

func TestAdoptSlotFailureLeavesNoEntry(t *testing.T) {
	e := newESP(t)
	for _, s := range []Slot{SlotA, SlotB} {
		if err := adopt(t, e, s, "v1", "kernel "+string(s), "initrd "+string(s), ""); err != nil {
			t.Fatal(err)
		}
	}
	entryA := readESP(t, e, "loader/entries/plinth-a.conf")
	// Only the kernel staged: the initramfs rename fails.
	if err := os.WriteFile(e.abs("plinth/staging/vmlinuz"), []byte("kernel new"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := e.AdoptSlot(SlotB, "v2", "plinth/staging/vmlinuz", "plinth/staging/initramfs", "")
	if err == nil || !strings.Contains(err.Error(), "slot B") {
		t.Fatalf("AdoptSlot without a staged initramfs: error %v", err)
	}
	if _, ok, err := e.Entry(SlotB); ok || err != nil {
		t.Errorf("slot B has an entry after a failed adoption (%v)", err)
	}
	if readESP(t, e, "loader/entries/plinth-a.conf") != entryA || readESP(t, e, "plinth/A/vmlinuz") != "kernel A" || readESP(t, e, "plinth/A/initramfs") != "initrd A" {
		t.Error("a failed adoption of slot B changed slot A")
	}
}

func TestAdoptSlotRefusesBadFields(t *testing.T) {
	e := newESP(t)
	for _, c := range []struct {
		slot             Slot
		version, options string
	}{
		{"C", "v1", ""},
		{SlotA, "", ""},
		{SlotA, "v1\ninitrd /evil", ""},
		{SlotA, "v1", "quiet\nlinux /evil"},
	} {
		if err := adopt(t, e, c.slot, c.version, "k", "i", c.options); err == nil {
			t.Errorf("AdoptSlot(%q, %q, options %q): no error", c.slot, c.version, c.options)
		}
	}
	if exists(e, "loader") || exists(e, "plinth/A") || exists(e, "plinth/C") {
		t.Error("a refused AdoptSlot wrote a slot")
	}
	missing := ESP{Root: filepath.Join(t.TempDir(), "absent")}
	if err := missing.AdoptSlot(SlotA, "v1", "k", "i", ""); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("AdoptSlot on a missing ESP: error %v, want one naming it", err)
	}
}

func TestEntryWithoutVersion(t *testing.T) {
	e := newESP(t)
	os.MkdirAll(e.abs(EntriesDir), 0o755)
	os.WriteFile(e.abs("loader/entries/plinth-a.conf"), []byte("title x\nlinux /k\n"), 0o644)
	if _, _, err := e.Entry(SlotA); err == nil || !strings.Contains(err.Error(), "no version") {
		t.Errorf("Entry without version: error %v", err)
	}
}
