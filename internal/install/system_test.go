package install

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/internal/install/bootloader"
	"github.com/plinth-os/plinth/pkg/machinery/bundle"
)

// testBundle writes a bundle of small files and returns its bytes.
func testBundle(t *testing.T, version string) []byte {
	t.Helper()
	dir := t.TempDir()
	k, i := filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "initramfs")
	if err := os.WriteFile(k, []byte("kernel "+version), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(i, []byte("initramfs "+version), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := bundle.Write(&buf, bundle.Manifest{Version: version, KernelRelease: "6.1", Arch: "amd64"}, k, i); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteSlotVerifiesThenMoves(t *testing.T) {
	esp := bootloader.ESP{Root: t.TempDir()}
	m, err := WriteSlot(esp, SlotB, bytes.NewReader(testBundle(t, "v2")), "console=ttyS0")
	if err != nil || m.Version != "v2" {
		t.Fatalf("WriteSlot: %+v %v", m, err)
	}
	if v, ok, err := esp.Entry(bootloader.SlotB); err != nil || !ok || v != "v2" {
		t.Fatalf("entry B: %q %v %v", v, ok, err)
	}
	if b, _ := os.ReadFile(filepath.Join(esp.Root, "plinth", "B", "initramfs")); string(b) != "initramfs v2" {
		t.Fatalf("initramfs B: %q", b)
	}
	if _, err := os.Stat(filepath.Join(esp.Root, stagingDir)); !os.IsNotExist(err) {
		t.Fatalf("staging left behind: %v", err)
	}

	// A corrupted bundle leaves the slot without an entry and A untouched.
	if _, err := WriteSlot(esp, SlotA, bytes.NewReader(testBundle(t, "v1")), ""); err != nil {
		t.Fatal(err)
	}
	bad := testBundle(t, "v3")
	idx := bytes.LastIndex(bad, []byte("initramfs v3"))
	bad[idx] ^= 0xff
	_, err = WriteSlot(esp, SlotB, bytes.NewReader(bad), "")
	if err == nil || !strings.Contains(err.Error(), "initramfs") {
		t.Fatalf("corrupt bundle: %v", err)
	}
	if v, ok, _ := esp.Entry(bootloader.SlotA); !ok || v != "v1" {
		t.Fatalf("slot A after a refused write: %q %v", v, ok)
	}
}
