package disk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPartitionDevice(t *testing.T) {
	for _, c := range []struct {
		disk string
		n    int
		want string
	}{
		{"/dev/vda", 1, "/dev/vda1"},
		{"/dev/sda", 12, "/dev/sda12"},
		{"/dev/nvme0n1", 1, "/dev/nvme0n1p1"},
		{"/dev/loop0", 3, "/dev/loop0p3"},
		{"/dev/mmcblk0", 2, "/dev/mmcblk0p2"},
		{"/dev/xvda", 4, "/dev/xvda4"},
	} {
		if got := PartitionDevice(c.disk, c.n); got != c.want {
			t.Errorf("PartitionDevice(%q, %d) = %q, want %q", c.disk, c.n, got, c.want)
		}
	}
}

// fakeSys builds a sysfs tree as the kernel lays it out: the devices under
// devices/.../block/<disk>/<partition>, and class/block/<name> links to them.
type fakeSys struct {
	t    *testing.T
	root string
}

func newFakeSys(t *testing.T) fakeSys {
	s := fakeSys{t: t, root: t.TempDir()}
	s.mkdir("class/block")
	return s
}

func (s fakeSys) mkdir(rel string) string {
	dir := filepath.Join(s.root, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	return dir
}

func (s fakeSys) write(path, content string) {
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s fakeSys) link(name, rel string) {
	if err := os.Symlink(filepath.Join("..", "..", rel), filepath.Join(s.root, "class/block", name)); err != nil {
		s.t.Fatal(err)
	}
}

// disk adds a whole disk and its partitions (GPT names, sizes in sectors).
func (s fakeSys) disk(name string, parts []string, sectors []int) {
	rel := "devices/pci0000:00/virtio/block/" + name
	dir := s.mkdir(rel)
	s.write(filepath.Join(dir, "uevent"), fmt.Sprintf("MAJOR=252\nMINOR=0\nDEVNAME=%s\nDEVTYPE=disk\nDISKSEQ=9\n", name))
	s.write(filepath.Join(dir, "size"), "2097152\n")
	s.link(name, rel)
	for i, label := range parts {
		pname := PartitionDevice(name, i+1)
		prel := rel + "/" + pname
		pdir := s.mkdir(prel)
		s.write(filepath.Join(pdir, "uevent"), fmt.Sprintf("MAJOR=252\nMINOR=%d\nDEVNAME=%s\nDEVTYPE=partition\nDISKSEQ=9\nPARTN=%d\nPARTNAME=%s\n", i+1, pname, i+1, label))
		s.write(filepath.Join(pdir, "size"), fmt.Sprintf("%d\n", sectors[i]))
		s.write(filepath.Join(pdir, "partition"), fmt.Sprintf("%d\n", i+1))
		s.link(pname, prel)
	}
}

func TestFindIn(t *testing.T) {
	sys := newFakeSys(t)
	sys.disk("vda", []string{LabelEFI, LabelMeta, LabelState, LabelEphemeral}, []int{1228800, 2048, 204800, 600000})
	sys.disk("nvme0n1", []string{"data"}, []int{1000})
	sys.disk("loop0", nil, nil)

	got, err := FindIn(sys.root, "/dev", LabelState)
	if err != nil {
		t.Fatal(err)
	}
	want := PartitionInfo{Disk: "/dev/vda", Device: "/dev/vda3", Label: LabelState, Number: 3, Size: 204800 * 512}
	if got != want {
		t.Errorf("FindIn STATE = %+v, want %+v", got, want)
	}
	got, err = FindIn(sys.root, "/devroot", "data")
	if err != nil {
		t.Fatal(err)
	}
	if want := (PartitionInfo{Disk: "/devroot/nvme0n1", Device: "/devroot/nvme0n1p1", Label: "data", Number: 1, Size: 512000}); got != want {
		t.Errorf("FindIn data = %+v, want %+v", got, want)
	}
	_, err = FindIn(sys.root, "/dev", "ABSENT")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "ABSENT") {
		t.Errorf("FindIn of an absent name: error %v, want ErrNotFound naming it", err)
	}
	// A disk is not a partition, even if named like one.
	if _, err := FindIn(sys.root, "/dev", "vda"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindIn vda: error %v, want ErrNotFound", err)
	}
}

func TestFindAmbiguous(t *testing.T) {
	sys := newFakeSys(t)
	sys.disk("vda", []string{LabelEFI, LabelMeta, LabelState}, []int{100, 100, 100})
	sys.disk("vdb", []string{LabelEFI, LabelMeta, LabelState}, []int{100, 100, 200})
	_, err := FindIn(sys.root, "/dev", LabelState)
	if !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), "/dev/vda3, /dev/vdb3") {
		t.Fatalf("FindIn with two STATE partitions: error %v, want ErrAmbiguous naming both", err)
	}
	got, err := find(sys.root, "/dev", "vdb", LabelState)
	if err != nil {
		t.Fatal(err)
	}
	if got.Device != "/dev/vdb3" || got.Size != 200*512 {
		t.Errorf("find on vdb = %+v, want /dev/vdb3 of 200 sectors", got)
	}
	if _, err := find(sys.root, "/dev", "vdc", LabelState); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "vdc") {
		t.Errorf("find on vdc: error %v, want ErrNotFound naming vdc", err)
	}
}

func TestFindBadSysfs(t *testing.T) {
	if _, err := FindIn(filepath.Join(t.TempDir(), "nosys"), "/dev", LabelState); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("FindIn without sysfs: error %v, want a read error", err)
	}
	sys := newFakeSys(t)
	dir := sys.mkdir("devices/block/vda/vda1")
	sys.write(filepath.Join(dir, "uevent"), "DEVNAME=vda1\nDEVTYPE=partition\nPARTN=x\nPARTNAME=STATE\n")
	sys.write(filepath.Join(dir, "size"), "8\n")
	sys.link("vda1", "devices/block/vda/vda1")
	if _, err := FindIn(sys.root, "/dev", LabelState); err == nil || !strings.Contains(err.Error(), "PARTN") {
		t.Errorf("FindIn with a bad PARTN: error %v, want one naming PARTN", err)
	}
}

func TestWaitNodes(t *testing.T) {
	sys := newFakeSys(t)
	sys.disk("vda", []string{LabelEFI, LabelMeta}, []int{8, 8})
	devRoot := t.TempDir()
	err := waitNodes("vda", sys.root, devRoot, 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(devRoot, "vda1")) || !strings.Contains(err.Error(), filepath.Join(devRoot, "vda2")) {
		t.Fatalf("waitNodes without nodes: error %v, want one naming both", err)
	}
	// Nodes appearing while it waits.
	time.AfterFunc(100*time.Millisecond, func() {
		for _, n := range []string{"vda1", "vda2"} {
			os.WriteFile(filepath.Join(devRoot, n), nil, 0o600)
		}
	})
	if err := waitNodes("vda", sys.root, devRoot, 5*time.Second); err != nil {
		t.Errorf("waitNodes: %v", err)
	}
}

func TestRereadRefusesFiles(t *testing.T) {
	path := image(t, MiB)
	if err := Reread(path); err == nil || !strings.Contains(err.Error(), "not a block device") {
		t.Errorf("Reread of an image file: error %v, want not a block device", err)
	}
}
