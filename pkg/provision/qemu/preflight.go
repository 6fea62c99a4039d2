package qemu

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// image is the files a node boots.
type image struct {
	// firmware is the qboot ROM when kernel is vmlinux, else "".
	firmware string
	kernel   string
	initrd   string
	// ovmfCode is the UEFI firmware when OVMF is installed, else "".
	ovmfCode string
	// bundle is the boot bundle when nodes are installed, else "".
	bundle string
}

// findImage locates the image in dir: vmlinux through qboot when both
// exist (it skips the kernel's decompression), else the bzImage vmlinuz
// through QEMU's own firmware; and the initramfs.
func (p *Provisioner) findImage(dir string) (image, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return image{}, fmt.Errorf("image directory %s: %w", dir, err)
	}
	exists := func(name string) bool { _, err := os.Stat(name); return err == nil }
	var img image
	var missing []string
	switch {
	case exists(filepath.Join(abs, "vmlinux")) && exists(p.opts.Firmware):
		img.firmware, img.kernel = p.opts.Firmware, filepath.Join(abs, "vmlinux")
	case exists(filepath.Join(abs, "vmlinuz")):
		img.kernel = filepath.Join(abs, "vmlinuz")
	default:
		missing = append(missing, "vmlinuz")
	}
	img.initrd = filepath.Join(abs, "initramfs")
	if !exists(img.initrd) {
		missing = append(missing, "initramfs")
	}
	if len(missing) > 0 {
		return image{}, fmt.Errorf("no node image in %s (missing %s): build it with `make image` in the Plinth repository, or pass --image DIR",
			abs, strings.Join(missing, ", "))
	}
	return img, nil
}

// findDiskBoot finds what installed nodes need: OVMF (code and variable
// store template) and, when nodes are installed, the boot bundle.
func (p *Provisioner) findDiskBoot(img *image, imageDir string) error {
	var errs []error
	_, codeErr := os.Stat(p.opts.OVMFCode)
	_, varsErr := os.Stat(p.opts.OVMFVars)
	if codeErr == nil && varsErr == nil {
		img.ovmfCode = p.opts.OVMFCode
	} else if p.opts.Disks.Install {
		errs = append(errs, fmt.Errorf("no UEFI firmware (%s, %s) to boot installed nodes from their disks: install it with `apt-get install ovmf` (Debian, Ubuntu), or pass --install=false",
			p.opts.OVMFCode, p.opts.OVMFVars))
	}
	if !p.opts.Disks.Install {
		return errors.Join(errs...)
	}
	if abs, err := filepath.Abs(imageDir); err == nil && HasBundle(abs) {
		img.bundle = filepath.Join(abs, BundleFile)
	} else {
		errs = append(errs, fmt.Errorf("no boot bundle %s in %s to install the nodes from: build it with `make image`, or pass --install=false", BundleFile, imageDir))
	}
	if size := p.opts.Disks.SizeMiB; size != 0 && size < MinDiskMiB {
		errs = append(errs, fmt.Errorf("--disk-size %d MiB: an installed node needs at least %d MiB", size, MinDiskMiB))
	}
	return errors.Join(errs...)
}

// preflight checks everything Create needs from the host, so that a
// missing piece is named (with the way to get it) before anything is
// created. It installs nothing.
func (p *Provisioner) preflight(stateDir, imageDir string, subnet netip.Prefix, n Network) (image, error) {
	var errs []error
	if os.Geteuid() != 0 {
		errs = append(errs, errors.New("creating a network namespace, links and taps needs root: run plinthctl as root (sudo -E plinthctl cluster create ...)"))
	}
	if len(p.opts.Launcher) == 0 {
		errs = append(errs, errors.New("no launcher command configured (a plinthctl build without `cluster launcher`)"))
	}
	if path, err := exec.LookPath(p.opts.Binary); err != nil {
		errs = append(errs, fmt.Errorf("%s is not installed: install it with `apt-get install qemu-system-x86` (Debian, Ubuntu)", p.opts.Binary))
	} else {
		p.opts.Binary = path
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		errs = append(errs, errors.New("no /dev/net/tun: load the tun module (modprobe tun)"))
	}
	img, err := p.findImage(imageDir)
	if err != nil {
		errs = append(errs, err)
	}
	if err := p.findDiskBoot(&img, imageDir); err != nil {
		errs = append(errs, err)
	}
	hostLink, namespace := n.present()
	switch {
	case hostLink:
		errs = append(errs, fmt.Errorf("link %s exists: a cluster with state in %s was not destroyed (plinthctl cluster destroy)", n.HostLink, stateDir))
	case namespace:
		errs = append(errs, fmt.Errorf("network namespace %s exists: a cluster with state in %s was not destroyed (plinthctl cluster destroy)", n.Netns, stateDir))
	}
	if used, err := subnetInUse(subnet); err != nil {
		errs = append(errs, err)
	} else if used != "" {
		errs = append(errs, fmt.Errorf("subnet %s overlaps the host's %s: choose another with --subnet", subnet, used))
	}
	return img, errors.Join(errs...)
}
