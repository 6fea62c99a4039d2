//go:build linux

// Package loop attaches files to loop block devices, so a file system
// image (the squashfs root) can be mounted.
//
// Attach asks /dev/loop-control for a free device (LOOP_CTL_GET_FREE) and
// configures it in one call (LOOP_CONFIGURE, Linux 5.8+), falling back to
// LOOP_SET_FD and LOOP_SET_STATUS64 on older kernels. Devices are
// autoclear: the kernel detaches them when the last user goes away. So
// Attach returns the device open; mount it, then Close it, and the mount
// keeps it attached until it is unmounted:
//
//	Attach ──▶ open, bound ──mount──▶ Close ──▶ held by the mount ──umount──▶ detached
//	                         └─(no mount)─▶ Close ──▶ detached

package loop

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ControlPath is the loop control device.
const ControlPath = "/dev/loop-control"

// Device is an attached loop device, open until Close.
type Device struct {
	// Path is the device node, e.g. /dev/loop0.
	Path string
	// Number is N of /dev/loopN.
	Number int

	f *os.File
}

// Options tune Attach.
type Options struct {
	// ReadOnly makes the device read-only.
	ReadOnly bool
	// DevDir is where the device nodes are (/dev when empty).
	DevDir string
}

// Attach binds the file at path to a free loop device. Attach retries when
// another process takes the device between the two steps.
func Attach(path string, opts Options) (*Device, error) {
	devDir := opts.DevDir
	if devDir == "" {
		devDir = "/dev"
	}
	flags := os.O_RDWR
	if opts.ReadOnly {
		flags = os.O_RDONLY
	}
	backing, err := os.OpenFile(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("loop attach %s: %w", path, err)
	}
	defer backing.Close()

	ctl, err := os.OpenFile(filepath.Join(devDir, "loop-control"), os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("loop attach %s: %w", path, err)
	}
	defer ctl.Close()

	for range 5 {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("loop attach %s: LOOP_CTL_GET_FREE: %w", path, err)
		}
		dev := &Device{Path: filepath.Join(devDir, fmt.Sprintf("loop%d", n)), Number: n}
		dev.f, err = configure(dev.Path, backing, path, opts.ReadOnly)
		if errors.Is(err, unix.EBUSY) {
			continue // taken meanwhile: ask again
		}
		if err != nil {
			return nil, fmt.Errorf("loop attach %s to %s: %w", path, dev.Path, err)
		}
		return dev, nil
	}
	return nil, fmt.Errorf("loop attach %s: every free device was taken meanwhile", path)
}

// configure binds backing to the device at devPath and returns the device
// open (closing it would let autoclear detach it).
func configure(devPath string, backing *os.File, name string, readOnly bool) (*os.File, error) {
	flags := os.O_RDWR
	if readOnly {
		flags = os.O_RDONLY
	}
	dev, err := os.OpenFile(devPath, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := bind(dev, backing, name, readOnly); err != nil {
		dev.Close()
		return nil, err
	}
	return dev, nil
}

// bind sets the backing file: LOOP_CONFIGURE, or LOOP_SET_FD and
// LOOP_SET_STATUS64 where the kernel lacks it.
func bind(dev, backing *os.File, name string, readOnly bool) error {
	info := unix.LoopInfo64{Flags: unix.LO_FLAGS_AUTOCLEAR}
	if readOnly {
		info.Flags |= unix.LO_FLAGS_READ_ONLY
	}
	copy(info.File_name[:len(info.File_name)-1], name)
	cfg := unix.LoopConfig{Fd: uint32(backing.Fd()), Info: info}
	err := unix.IoctlLoopConfigure(int(dev.Fd()), &cfg)
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOTTY) {
		return err // done, or a real failure (EBUSY: device taken)
	}
	// Kernel older than 5.8: bind, then set the status.
	if err := unix.IoctlSetInt(int(dev.Fd()), unix.LOOP_SET_FD, int(backing.Fd())); err != nil {
		return fmt.Errorf("LOOP_SET_FD: %w", err)
	}
	if err := unix.IoctlLoopSetStatus64(int(dev.Fd()), &info); err != nil {
		_ = unix.IoctlSetInt(int(dev.Fd()), unix.LOOP_CLR_FD, 0)
		return fmt.Errorf("LOOP_SET_STATUS64: %w", err)
	}
	return nil
}

// Close drops Attach's reference: a device that is not mounted detaches.
func (d *Device) Close() error {
	if err := d.f.Close(); err != nil {
		return fmt.Errorf("loop close %s: %w", d.Path, err)
	}
	return nil
}
