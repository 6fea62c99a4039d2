package bootloader

import (
	"errors"
	"io"
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

func TestWriteSlot(t *testing.T) {
	e := newESP(t)
	if err := e.WriteSlot(SlotA, "v1.0.0", strings.NewReader("kernel A"), strings.NewReader("initrd A"), "console=ttyS0 quiet"); err != nil {
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
		t.Error("slot A's files do not hold what was written")
	}
	if v, ok, err := e.Entry(SlotA); err != nil || !ok || v != "v1.0.0" {
		t.Errorf("Entry(A) = %q, %v, %v", v, ok, err)
	}
	if _, ok, err := e.Entry(SlotB); err != nil || ok {
		t.Errorf("Entry(B) without a slot B = %v, %v; want absent", ok, err)
	}

	// Slot B with no options, then rewritten with a newer version.
	if err := e.WriteSlot(SlotB, "v1.1.0", strings.NewReader("kernel B"), strings.NewReader("initrd B"), ""); err != nil {
		t.Fatal(err)
	}
	if got := readESP(t, e, "loader/entries/plinth-b.conf"); !strings.HasSuffix(got, "\noptions plinth.slot=B\n") {
		t.Errorf("entry without options:\n%s", got)
	}
	if err := e.WriteSlot(SlotB, "v1.2.0", strings.NewReader("kernel B2"), strings.NewReader("initrd B2"), "quiet"); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := e.Entry(SlotB); !ok || v != "v1.2.0" || readESP(t, e, "plinth/B/vmlinuz") != "kernel B2" {
		t.Errorf("rewritten slot B: version %q, kernel %q", v, readESP(t, e, "plinth/B/vmlinuz"))
	}
	noTemps(t, e)
}

// failingReader returns some bytes, then an error.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		n := min(r.n, len(p))
		for i := range n {
			p[i] = 'x'
		}
		r.n -= n
		return n, nil
	}
	return 0, errors.New("connection reset")
}

func TestWriteSlotFailure(t *testing.T) {
	for name, readers := range map[string][2]io.Reader{
		"kernel fails": {&failingReader{n: 100}, strings.NewReader("initrd new")},
		"initrd fails": {strings.NewReader("kernel new"), &failingReader{n: 5000}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newESP(t)
			for _, s := range []Slot{SlotA, SlotB} {
				if err := e.WriteSlot(s, "v1", strings.NewReader("kernel "+string(s)), strings.NewReader("initrd "+string(s)), ""); err != nil {
					t.Fatal(err)
				}
			}
			entryA := readESP(t, e, "loader/entries/plinth-a.conf")
			err := e.WriteSlot(SlotB, "v2", readers[0], readers[1], "")
			if err == nil || !strings.Contains(err.Error(), "connection reset") || !strings.Contains(err.Error(), "slot B") {
				t.Fatalf("WriteSlot with a failing reader: error %v", err)
			}
			if _, ok, err := e.Entry(SlotB); ok || err != nil {
				t.Errorf("slot B has an entry after a failed write (%v)", err)
			}
			if readESP(t, e, "loader/entries/plinth-a.conf") != entryA || readESP(t, e, "plinth/A/vmlinuz") != "kernel A" || readESP(t, e, "plinth/A/initramfs") != "initrd A" {
				t.Error("a failed write of slot B changed slot A")
			}
			noTemps(t, e)
		})
	}
}

func TestWriteSlotRefusesBadFields(t *testing.T) {
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
		if err := e.WriteSlot(c.slot, c.version, strings.NewReader("k"), strings.NewReader("i"), c.options); err == nil {
			t.Errorf("WriteSlot(%q, %q, options %q): no error", c.slot, c.version, c.options)
		}
	}
	if exists(e, "loader") || exists(e, "plinth") {
		t.Error("a refused WriteSlot wrote to the ESP")
	}
	missing := ESP{Root: filepath.Join(t.TempDir(), "absent")}
	if err := missing.WriteSlot(SlotA, "v1", strings.NewReader("k"), strings.NewReader("i"), ""); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("WriteSlot on a missing ESP: error %v, want one naming it", err)
	}
}

func TestRemoveSlot(t *testing.T) {
	e := newESP(t)
	for _, s := range []Slot{SlotA, SlotB} {
		if err := e.WriteSlot(s, "v1", strings.NewReader("k"), strings.NewReader("i"), ""); err != nil {
			t.Fatal(err)
		}
	}
	// A leftover temporary file from an interrupted write goes too.
	os.WriteFile(e.abs("plinth/B/.vmlinuz.tmp"), []byte("partial"), 0o644)
	if err := e.RemoveSlot(SlotB); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"loader/entries/plinth-b.conf", "plinth/B"} {
		if exists(e, p) {
			t.Errorf("%s left after RemoveSlot", p)
		}
	}
	if _, ok, _ := e.Entry(SlotA); !ok || !exists(e, "plinth/A/vmlinuz") {
		t.Error("RemoveSlot(B) removed slot A")
	}
	if err := e.RemoveSlot(SlotB); err != nil {
		t.Errorf("RemoveSlot of an absent slot: %v", err)
	}
	// Only an entry left (files gone): removed all the same.
	os.RemoveAll(e.abs("plinth/A"))
	if err := e.RemoveSlot(SlotA); err != nil || exists(e, "loader/entries/plinth-a.conf") {
		t.Errorf("RemoveSlot of a partial slot: %v", err)
	}
	if err := e.RemoveSlot("x"); err == nil {
		t.Error("RemoveSlot(x): no error")
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

func TestAdoptSlot(t *testing.T) {
	e := ESP{Root: t.TempDir()}
	if err := os.MkdirAll(filepath.Join(e.Root, "plinth", "staging"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"vmlinuz": "K", "initramfs": "I"} {
		if err := os.WriteFile(filepath.Join(e.Root, "plinth", "staging", name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.AdoptSlot(SlotB, "v2", "plinth/staging/vmlinuz", "plinth/staging/initramfs", "console=ttyS0"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := e.Entry(SlotB); err != nil || !ok || v != "v2" {
		t.Fatalf("entry: %q %v %v", v, ok, err)
	}
	if b, err := os.ReadFile(filepath.Join(e.Root, "plinth", "B", "initramfs")); err != nil || string(b) != "I" {
		t.Fatalf("initramfs: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(e.Root, "plinth", "staging", "vmlinuz")); !os.IsNotExist(err) {
		t.Fatalf("staged kernel still there: %v", err)
	}
	if err := e.AdoptSlot(SlotA, "v3", "plinth/staging/vmlinuz", "plinth/staging/initramfs", ""); err == nil {
		t.Fatal("adopting missing files must fail")
	}
	if _, ok, _ := e.Entry(SlotA); ok {
		t.Fatal("a failed adoption must leave no entry")
	}
}
