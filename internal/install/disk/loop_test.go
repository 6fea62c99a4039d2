package disk

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// loopDisk attaches the image at path to a loop device (losetup with args,
// such as -P for partition scanning) and detaches it when the test ends; it
// skips the test when that cannot be done here.
func loopDisk(t *testing.T, path string, args ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: loop devices and mounts")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("needs root: no loop devices (%v)", err)
	}
	losetup, err := exec.LookPath("losetup")
	if err != nil {
		t.Skip("needs root: losetup (util-linux) not found, to attach with partition scanning")
	}
	args = append(args, "--show", "-f", path)
	out, err := exec.Command(losetup, args...).CombinedOutput()
	if err != nil {
		t.Skipf("needs root: losetup %s failed: %v: %s", strings.Join(args, " "), err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command(losetup, "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("detach %s: %v: %s", dev, err, out)
		}
	})
	return dev
}

// mount mounts dev on a new directory and returns it; the test's end
// unmounts it if still mounted.
func mount(t *testing.T, dev, fstype string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount(dev, dir, fstype, 0, ""); err != nil {
		return "", err
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir, nil
}

func writeAndUnmount(t *testing.T, dir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "hello"), []byte("plinth"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Unmount(dir, 0); err != nil {
		t.Fatalf("unmount %s: %v", dir, err)
	}
}

// TestLoopInstall partitions a loop device with partition scanning, has
// the kernel read the table, and formats and mounts the partitions.
func TestLoopInstall(t *testing.T) {
	dev := loopDisk(t, image(t, 1<<30), "-P")
	if err := Partition(dev, DefaultLayout); err != nil {
		t.Fatal(err)
	}
	if err := Reread(dev); err != nil {
		t.Fatal(err)
	}
	ok, err := Installed(dev)
	if err != nil || !ok {
		t.Fatalf("Installed(%s) = %v, %v; want true", dev, ok, err)
	}
	if _, err := os.Stat(filepath.Join("/sys/class/block", filepath.Base(PartitionDevice(dev, 1)))); err != nil {
		t.Skip("needs root and a kernel that reads GPTs (CONFIG_EFI_PARTITION): no partitions after Reread")
	}
	state, err := FindOn(dev, LabelState)
	if err != nil {
		t.Fatal(err)
	}
	if want := (PartitionInfo{Disk: dev, Device: PartitionDevice(dev, 3), Label: LabelState, Number: 3, Size: 100 * MiB}); state != want {
		t.Errorf("FindOn(%s, STATE) = %+v, want %+v", dev, state, want)
	}

	// The ESP, made through the whole disk, mounts from the partition.
	if err := FormatEFI(dev); err != nil {
		t.Fatal(err)
	}
	if dir, err := mount(t, PartitionDevice(dev, 1), "vfat"); errors.Is(err, unix.ENODEV) {
		t.Log("vfat not supported by this kernel: ESP mount not checked")
	} else if err != nil {
		t.Errorf("mount the ESP: %v", err)
	} else {
		writeAndUnmount(t, dir)
	}
	formatAndMount(t, state.Device)
}

// TestLoopFormat formats, mounts and wipes a block device: a loop device
// over the STATE partition of an image (so it runs on kernels that do not
// read GPTs too).
func TestLoopFormat(t *testing.T) {
	path := image(t, 1<<30)
	if err := Partition(path, DefaultLayout); err != nil {
		t.Fatal(err)
	}
	dev := loopDisk(t, path, "-o", "631242752", "--sizelimit", "104857600") // 602 MiB, 100 MiB
	formatAndMount(t, dev)
}

// formatAndMount makes STATE's file system on dev, mounts it and writes a
// file, then checks that Wipe refuses it mounted and kills it unmounted.
func formatAndMount(t *testing.T, dev string) {
	t.Helper()
	if _, err := (Options{}).mkfs(); err != nil {
		t.Skipf("no mkfs.ext4: %v", err)
	}
	if err := FormatExt4(dev, LabelState); err != nil {
		t.Fatal(err)
	}
	dir, err := mount(t, dev, "ext4")
	if err != nil {
		t.Fatalf("mount %s: %v", dev, err)
	}
	writeAndUnmount(t, dir)

	dir, err = mount(t, dev, "ext4")
	if err != nil {
		t.Fatal(err)
	}
	if err := Wipe(dev); !errors.Is(err, unix.EBUSY) {
		t.Errorf("Wipe of a mounted partition: error %v, want EBUSY", err)
	}
	if err := unix.Unmount(dir, 0); err != nil {
		t.Fatal(err)
	}
	if err := Wipe(dev); err != nil {
		t.Fatal(err)
	}
	if _, err := mount(t, dev, "ext4"); err == nil {
		t.Errorf("%s still mounts after Wipe", dev)
	}
}
