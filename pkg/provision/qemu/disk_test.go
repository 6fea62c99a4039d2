package qemu

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// writeDisk makes a sparse disk image with a GPT of the named partitions
// (the first a FAT32 ESP holding the files given).
func writeDisk(t *testing.T, path string, names []string, files map[string]string) {
	t.Helper()
	const mib = 1 << 20 / 512 // sectors
	d, err := diskfs.Create(path, 256<<20, diskfs.SectorSizeDefault)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	table := &gpt.Table{ProtectiveMBR: true, LogicalSectorSize: 512, PhysicalSectorSize: 512}
	start := uint64(mib)
	for i, name := range names {
		size := uint64(8 * mib)
		if i == 0 {
			size = 64 * mib
		}
		table.Partitions = append(table.Partitions, &gpt.Partition{Index: i + 1, Start: start, End: start + size - 1, Type: gpt.LinuxFilesystem, Name: name})
		start += size
	}
	table.Partitions[0].Type = gpt.EFISystemPartition
	if err := d.Partition(table); err != nil {
		t.Fatal(err)
	}
	if files == nil {
		return
	}
	fs, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: 1, FSType: filesystem.TypeFat32, VolumeLabel: "EFI"})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := fs.Mkdir(filepath.Dir(name)); err != nil {
			t.Fatal(err)
		}
		f, err := fs.OpenFile(name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

func TestChooseBootMode(t *testing.T) {
	dir := t.TempDir()
	loader := map[string]string{espLoader: "MZ systemd-boot", "/loader/loader.conf": "default plinth-a.conf\n"}

	blank := filepath.Join(dir, "blank.disk")
	if err := createDisk(blank, 64); err != nil {
		t.Fatal(err)
	}
	installed := filepath.Join(dir, "installed.disk")
	writeDisk(t, installed, installedPartitions, loader)
	unfinished := filepath.Join(dir, "unfinished.disk")
	writeDisk(t, unfinished, installedPartitions, map[string]string{"/loader/loader.conf": "x"})
	unreadableESP := filepath.Join(dir, "noesp.disk")
	writeDisk(t, unreadableESP, installedPartitions, nil)
	other := filepath.Join(dir, "other.disk")
	writeDisk(t, other, []string{"EFI", "root"}, loader)

	for _, tc := range []struct {
		disk string
		uefi bool
		want BootMode
		why  string
	}{
		{blank, true, BootLive, "no partition table"},
		{filepath.Join(dir, "missing.disk"), true, BootLive, "unreadable"},
		{installed, true, BootDisk, "Plinth installed on the disk"},
		{installed, false, BootLive, "apt-get install ovmf"},
		{unfinished, true, BootLive, "unfinished install"},
		{unreadableESP, true, BootDisk, "ESP not checked"},
		{other, true, BootLive, "no partition META"},
	} {
		mode, why := chooseBootMode(tc.disk, tc.uefi)
		if mode != tc.want || !strings.Contains(why, tc.why) {
			t.Errorf("%s (uefi %v): %s (%s), want %s (%s)", filepath.Base(tc.disk), tc.uefi, mode, why, tc.want, tc.why)
		}
	}
}

func TestCreateDiskAndVars(t *testing.T) {
	dir := t.TempDir()
	template := filepath.Join(dir, "OVMF_VARS.fd")
	if err := os.WriteFile(template, []byte("vars"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := testSpec(dir)
	if err := createDisks(s, template); err != nil {
		t.Fatal(err)
	}
	n := s.Nodes[0]
	size, used, err := diskUsage(n.Disk)
	if err != nil || size != 2048<<20 || used > 1<<20 {
		t.Errorf("disk: %d bytes, %d used, %v: want 2 GiB, sparse", size, used, err)
	}
	if data, _ := os.ReadFile(n.Vars); string(data) != "vars" {
		t.Errorf("variable store %q", data)
	}
	// A node keeps its disk and its variables when created again.
	if err := os.WriteFile(n.Vars, []byte("boot entries"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.Disk, []byte("installed"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := createDisks(s, template); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(n.Disk); string(data) != "installed" {
		t.Errorf("disk replaced: %q", data)
	}
	if data, _ := os.ReadFile(n.Vars); string(data) != "boot entries" {
		t.Errorf("variables replaced: %q", data)
	}
	if err := copyVars(filepath.Join(dir, "new.fd"), filepath.Join(dir, "none.fd")); err == nil || !strings.Contains(err.Error(), "template") {
		t.Errorf("missing template: %v", err)
	}
	if err := createDisk(filepath.Join(dir, "no", "such.disk"), 1); err == nil || !strings.Contains(err.Error(), "create disk") {
		t.Errorf("disk in a missing directory: %v", err)
	}
}

func TestInstallPatch(t *testing.T) {
	subnet := netip.MustParsePrefix("10.5.0.0/24")
	if got := BundleURL(subnet); got != "http://10.5.0.1:50080/boot-bundle.tar" {
		t.Errorf("bundle URL %s", got)
	}
	var p struct {
		Machine struct {
			Install map[string]string `json:"install"`
		} `json:"machine"`
	}
	if err := json.Unmarshal(InstallPatch(subnet), &p); err != nil {
		t.Fatal(err)
	}
	if p.Machine.Install["disk"] != "/dev/vda" || p.Machine.Install["image"] != BundleURL(subnet) || len(p.Machine.Install) != 2 {
		t.Errorf("install patch %s", InstallPatch(subnet))
	}
	dir := t.TempDir()
	if HasBundle(dir) {
		t.Error("bundle found in an empty directory")
	}
	if err := os.WriteFile(filepath.Join(dir, BundleFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !HasBundle(dir) {
		t.Error("bundle not found")
	}
}
