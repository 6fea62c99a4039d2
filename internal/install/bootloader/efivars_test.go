package bootloader

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestEncodeStringKnownBytes(t *testing.T) {
	want := []byte{
		0x07, 0x00, 0x00, 0x00, // NON_VOLATILE|BOOTSERVICE_ACCESS|RUNTIME_ACCESS
		'p', 0, 'l', 0, 'i', 0, 'n', 0, 't', 0, 'h', 0, '-', 0, 'b', 0,
		'.', 0, 'c', 0, 'o', 0, 'n', 0, 'f', 0,
		0, 0, // NUL terminator
	}
	if got := EncodeString("plinth-b.conf"); !bytes.Equal(got, want) {
		t.Errorf("EncodeString(plinth-b.conf) = % x\nwant % x", got, want)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plinth-a.conf", "ünïcødé", "emoji 🚀 beyond the BMP"} {
		got, err := DecodeString(EncodeString(s))
		if err != nil || got != s {
			t.Errorf("DecodeString(EncodeString(%q)) = %q, %v", s, got, err)
		}
	}
	// Without a terminator, and with bytes after it.
	b := append(EncodeString("ab")[:8:8], 0, 0, 'x', 0)
	if got, err := DecodeString(b[:8]); err != nil || got != "ab" {
		t.Errorf("unterminated: %q, %v", got, err)
	}
	if got, err := DecodeString(b); err != nil || got != "ab" {
		t.Errorf("bytes after the terminator: %q, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {7, 0, 0}, {7, 0, 0, 0, 'a'}} {
		if _, err := DecodeString(bad); err == nil {
			t.Errorf("DecodeString(% x): no error", bad)
		}
	}
}

func TestVars(t *testing.T) {
	v := Vars{Dir: t.TempDir()}
	if !v.Available() {
		t.Fatal("Available false on an existing directory")
	}
	if (Vars{Dir: filepath.Join(v.Dir, "absent")}).Available() {
		t.Error("Available true on a missing directory")
	}
	if _, ok, err := v.OneShot(); ok || err != nil {
		t.Errorf("OneShot before any set = %v, %v; want absent", ok, err)
	}
	if err := v.ClearOneShot(); err != nil {
		t.Errorf("ClearOneShot with none set: %v", err)
	}

	// A longer value, then a shorter one: the file holds only the latter.
	for _, entry := range []string{"plinth-long-entry-name.conf", "plinth-b.conf"} {
		if err := v.SetOneShot(entry); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(v.Dir, "LoaderEntryOneShot-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f")
	if b, err := os.ReadFile(file); err != nil || !bytes.Equal(b, EncodeString("plinth-b.conf")) {
		t.Errorf("variable file = % x, %v", b, err)
	}
	if e, ok, err := v.OneShot(); err != nil || !ok || e != "plinth-b.conf" {
		t.Errorf("OneShot = %q, %v, %v", e, ok, err)
	}
	if err := v.ClearOneShot(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("variable file after ClearOneShot: %v", err)
	}
	if err := v.SetOneShot(""); err == nil {
		t.Error("SetOneShot(\"\"): no error")
	}

	missing := Vars{Dir: filepath.Join(v.Dir, "absent")}
	if err := missing.SetOneShot("plinth-a.conf"); err == nil {
		t.Error("SetOneShot without efivarfs: no error")
	}
}

// TestVarsImmutable checks that an immutable variable file (as efivarfs
// makes them) is made writable and removable.
func TestVarsImmutable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: setting the immutable attribute")
	}
	v := Vars{Dir: t.TempDir()}
	if err := v.SetOneShot("plinth-a.conf"); err != nil {
		t.Fatal(err)
	}
	p := v.path(VarOneShot)
	setImmutable(t, p)
	t.Cleanup(func() { clearImmutable(p) })
	if err := v.SetOneShot("plinth-b.conf"); err != nil {
		t.Fatalf("SetOneShot over an immutable file: %v", err)
	}
	if e, _, _ := v.OneShot(); e != "plinth-b.conf" {
		t.Errorf("OneShot = %q, want plinth-b.conf", e)
	}
	setImmutable(t, p)
	if err := v.ClearOneShot(); err != nil {
		t.Fatalf("ClearOneShot of an immutable file: %v", err)
	}
	if _, ok, _ := v.OneShot(); ok {
		t.Error("variable still set after ClearOneShot")
	}
}

func setImmutable(t *testing.T, p string) {
	t.Helper()
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err == nil {
		err = unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|fsImmutableFlag))
	}
	if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EOPNOTSUPP) {
		t.Skipf("needs root and a file system with attributes (ext4, tmpfs) for %s: %v", p, err)
	}
	if err != nil {
		t.Fatalf("set immutable on %s: %v", p, err)
	}
	if err := unix.Unlink(p); err == nil {
		t.Fatal("immutable attribute not effective: unlink succeeded")
	}
}
