//go:build linux

// Package kexec loads a kernel and initramfs for kexec_file_load(2), so
// the next "reboot" starts them directly, without the firmware.
package kexec

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Load loads the kernel and initramfs at the paths with cmdline as the new
// kernel's command line. The files may be closed (and their file system
// unmounted) once Load returns: the kernel keeps its copy.
func Load(kernel, initrd, cmdline string) error {
	k, err := os.Open(kernel)
	if err != nil {
		return fmt.Errorf("kexec: %w", err)
	}
	defer k.Close()
	i, err := os.Open(initrd)
	if err != nil {
		return fmt.Errorf("kexec: %w", err)
	}
	defer i.Close()
	if err := unix.KexecFileLoad(int(k.Fd()), int(i.Fd()), cmdline, 0); err != nil {
		return fmt.Errorf("kexec_file_load %s: %w", kernel, err)
	}
	return nil
}
