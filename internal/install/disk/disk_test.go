package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// image makes a sparse image file of size bytes.
func image(t *testing.T, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return path
}

func installed(t *testing.T, path string) bool {
	t.Helper()
	ok, err := Installed(path)
	if err != nil {
		t.Fatalf("Installed(%s): %v", path, err)
	}
	return ok
}

func TestPartitionLayout(t *testing.T) {
	const size = 1 << 30
	path := image(t, size)
	if installed(t, path) {
		t.Fatal("Installed true on a blank image")
	}
	if err := Partition(path, DefaultLayout); err != nil {
		t.Fatal(err)
	}
	if !installed(t, path) {
		t.Fatal("Installed false after Partition")
	}
	parts, err := readGPT(path)
	if err != nil || parts == nil {
		t.Fatalf("readGPT: %v, %v", parts, err)
	}
	// EPHEMERAL ends on the last MiB boundary before the backup GPT.
	want := []struct {
		name, typ   string
		start, size int64
	}{
		{LabelEFI, TypeEFI, 1 * MiB, 600 * MiB},
		{LabelMeta, TypeMeta, 601 * MiB, 1 * MiB},
		{LabelState, TypeLinux, 602 * MiB, 100 * MiB},
		{LabelEphemeral, TypeLinux, 702 * MiB, size - 702*MiB - MiB},
	}
	if len(parts) != len(want) {
		t.Fatalf("%d partitions, want %d", len(parts), len(want))
	}
	for i, w := range want {
		p := parts[i]
		if p.Index != i+1 || p.Name != w.name || !strings.EqualFold(string(p.Type), w.typ) || p.GetStart() != w.start || p.GetSize() != w.size {
			t.Errorf("partition %d = #%d %s %s at %d size %d, want #%d %s %s at %d size %d",
				i, p.Index, p.Name, p.Type, p.GetStart(), p.GetSize(), i+1, w.name, w.typ, w.start, w.size)
		}
		if p.GetStart()%MiB != 0 || p.GetSize()%MiB != 0 {
			t.Errorf("partition %s not MiB aligned: start %d size %d", p.Name, p.GetStart(), p.GetSize())
		}
	}
	// Partitioning again (a reinstall) gives the same layout.
	if err := Partition(path, DefaultLayout); err != nil {
		t.Fatalf("second Partition: %v", err)
	}
	if !installed(t, path) {
		t.Error("Installed false after partitioning again")
	}
}

func TestPartitionTooSmall(t *testing.T) {
	path := image(t, 700*MiB)
	err := Partition(path, DefaultLayout)
	if err == nil {
		t.Fatal("Partition of a 700 MiB disk: no error")
	}
	for _, s := range []string{path, "too small", "700 MiB", "needs 767 MiB"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	if installed(t, path) {
		t.Error("a refused Partition left a layout")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, off := range []int64{0, 699 * MiB} { // where the GPT and its backup go
		b := make([]byte, MiB)
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		if !isZero(b) {
			t.Errorf("a refused Partition wrote to the disk near offset %d", off)
		}
	}
	// Exactly the minimum is accepted.
	if err := Partition(image(t, 767*MiB), DefaultLayout); err != nil {
		t.Errorf("Partition of a 767 MiB disk: %v", err)
	}
}

func TestPartitionBadLayout(t *testing.T) {
	l := DefaultLayout
	l.MetaSize = 0
	if err := Partition(image(t, 1<<30), l); err == nil || !strings.Contains(err.Error(), "META size 0") {
		t.Errorf("Partition with no META size: error %v, want one naming META", err)
	}
	if err := Partition(filepath.Join(t.TempDir(), "absent"), DefaultLayout); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("Partition of a missing disk: error %v, want one naming it", err)
	}
}

func TestLayoutRoundsUp(t *testing.T) {
	tb, err := Layout{EFISize: 1, MetaSize: MiB + 1, StateSize: 3 * MiB}.table(100*MiB, 512, 512)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for _, p := range tb.Partitions[:3] {
		sizes = append(sizes, int64(p.End-p.Start+1)*512)
	}
	if want := []int64{MiB, 2 * MiB, 3 * MiB}; !equal(sizes, want) {
		t.Errorf("sizes %v, want %v", sizes, want)
	}
	// 4 KiB sectors keep the same byte layout.
	tb, err = DefaultLayout.table(1<<30, 4096, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if p := tb.Partitions[3]; int64(p.Start)*4096 != 702*MiB || int64(p.End+1)*4096 != (1<<30)-MiB {
		t.Errorf("EPHEMERAL at 4K sectors: sectors %d..%d", p.Start, p.End)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestInstalledOtherTables(t *testing.T) {
	// A GPT with other names is not Plinth's.
	path := image(t, 1<<30)
	writeTable(t, path, []*gpt.Partition{
		{Index: 1, Start: 2048, End: 4095, Type: gpt.EFISystemPartition, Name: "ESP"},
		{Index: 2, Start: 4096, End: 8191, Type: gpt.LinuxFilesystem, Name: "root"},
	})
	if installed(t, path) {
		t.Error("Installed true on a foreign GPT")
	}
	// Right names in the wrong order are not either.
	writeTable(t, path, []*gpt.Partition{
		{Index: 1, Start: 2048, End: 4095, Type: gpt.Type(TypeMeta), Name: LabelMeta},
		{Index: 2, Start: 4096, End: 8191, Type: gpt.EFISystemPartition, Name: LabelEFI},
		{Index: 3, Start: 8192, End: 9000, Type: gpt.LinuxFilesystem, Name: LabelState},
		{Index: 4, Start: 10240, End: 20000, Type: gpt.LinuxFilesystem, Name: LabelEphemeral},
	})
	if installed(t, path) {
		t.Error("Installed true on a GPT with the partitions out of order")
	}
	// Garbage is no GPT, and no error.
	if err := os.WriteFile(path, bytes.Repeat([]byte{0xa5}, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if installed(t, path) {
		t.Error("Installed true on garbage")
	}
	if _, err := Installed(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("Installed of a missing disk: no error")
	}
}

func writeTable(t *testing.T, path string, parts []*gpt.Partition) {
	t.Helper()
	d, err := diskfs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Partition(&gpt.Table{ProtectiveMBR: true, LogicalSectorSize: 512, PhysicalSectorSize: 512, Partitions: parts}); err != nil {
		t.Fatal(err)
	}
}

func TestFormatEFI(t *testing.T) {
	path := image(t, 1<<30)
	if err := Partition(path, DefaultLayout); err != nil {
		t.Fatal(err)
	}
	if err := FormatEFI(path); err != nil {
		t.Fatal(err)
	}
	d, err := diskfs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fs, err := d.GetFilesystem(1)
	if err != nil {
		t.Fatalf("read back the ESP: %v", err)
	}
	if fs.Type() != filesystem.TypeFat32 {
		t.Errorf("ESP type %v, want FAT32", fs.Type())
	}
	if got := strings.TrimSpace(fs.Label()); got != LabelEFI {
		t.Errorf("ESP label %q, want %q", got, LabelEFI)
	}
	if err := fs.Mkdir("/loader"); err != nil {
		t.Fatal(err)
	}
	f, err := fs.OpenFile("/loader/loader.conf", os.O_CREATE|os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	const content = "default plinth-a.conf\n"
	if _, err := f.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r, err := fs.OpenFile("/loader/loader.conf", os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != content {
		t.Errorf("read back %q, want %q", got, content)
	}
}

func TestFormatEFIRefusesOtherDisks(t *testing.T) {
	path := image(t, 1<<30)
	if err := FormatEFI(path); err == nil || !strings.Contains(err.Error(), "no GPT") {
		t.Errorf("FormatEFI on a blank disk: error %v, want no GPT", err)
	}
	writeTable(t, path, []*gpt.Partition{{Index: 1, Start: 2048, End: 400000, Type: gpt.LinuxFilesystem, Name: "data"}})
	if err := FormatEFI(path); err == nil || !strings.Contains(err.Error(), `partition 1 is "data"`) {
		t.Errorf("FormatEFI with a data partition 1: error %v, want one naming it", err)
	}
}

func TestFormatExt4File(t *testing.T) {
	if _, err := (Options{}).mkfs(); err != nil {
		t.Skipf("no mkfs.ext4: %v", err)
	}
	path := image(t, 16*MiB)
	if err := FormatExt4(path, LabelState); err != nil {
		t.Fatal(err)
	}
	sb := make([]byte, 1024) // the superblock, at 1024
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadAt(sb, 1024); err != nil {
		t.Fatal(err)
	}
	if m := binary.LittleEndian.Uint16(sb[0x38:]); m != 0xef53 {
		t.Errorf("superblock magic %#x, want 0xef53", m)
	}
	if label := string(bytes.TrimRight(sb[0x78:0x88], "\x00")); label != LabelState {
		t.Errorf("volume label %q, want %q", label, LabelState)
	}
	if r := binary.LittleEndian.Uint32(sb[0x08:]); r != 0 {
		t.Errorf("%d reserved blocks, want 0 (-m 0)", r)
	}
}

func TestFormatExt4Errors(t *testing.T) {
	err := Options{Mkfs: "/nonexistent/mkfs.ext4"}.FormatExt4("/dev/null", "STATE")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/mkfs.ext4") || !strings.Contains(err.Error(), "/dev/null") {
		t.Errorf("error %v, want one naming the program and the device", err)
	}
	if err := FormatExt4("/dev/null", strings.Repeat("x", 17)); err == nil || !strings.Contains(err.Error(), "16 bytes") {
		t.Errorf("long label: error %v", err)
	}
	if _, err := (Options{}).mkfs(); err == nil {
		err := FormatExt4(filepath.Join(t.TempDir(), "absent"), "STATE")
		if err == nil || !strings.Contains(err.Error(), "absent") {
			t.Errorf("mkfs on a missing device: error %v, want one naming it", err)
		}
	}
}

func TestWipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "part.img")
	if err := os.WriteFile(path, bytes.Repeat([]byte{0xff}, 3*MiB), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Wipe(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 3*MiB {
		t.Fatalf("Wipe changed the size to %d", len(b))
	}
	if !isZero(b[:MiB]) || !isZero(b[2*MiB:]) {
		t.Error("first or last MiB not zeroed")
	}
	if !bytes.Equal(b[MiB:2*MiB], bytes.Repeat([]byte{0xff}, MiB)) {
		t.Error("Wipe touched the middle")
	}
	// A device smaller than a MiB is zeroed whole.
	small := filepath.Join(t.TempDir(), "small.img")
	if err := os.WriteFile(small, []byte("signature"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Wipe(small); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(small); !isZero(b) || len(b) != 9 {
		t.Errorf("small device after Wipe: %q", b)
	}
	if err := Wipe(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Wipe of a missing device: %v", err)
	}
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
