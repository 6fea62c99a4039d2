package qemu

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// tapFD is the file descriptor number of the node's tap in QEMU: the
// launcher opens the tap inside the cluster namespace and passes it as
// the first extra file (after stdin, stdout and stderr).
const tapFD = 3

// ConfigPath is the URL path of a node's config on the config server.
func ConfigPath(node string) string { return "/configs/" + node + ".yaml" }

// ConfigURL is the address the node fetches its config from.
func ConfigURL(server netip.AddrPort, node string) string {
	return "http://" + server.String() + ConfigPath(node)
}

// KernelCmdline is the live kernel's command line: the serial console,
// where its machine config is, then the cluster's extra arguments. Without
// panic= init sets kernel.panic=10, so a node whose machined dies reboots
// (and the launcher starts it again).
func KernelCmdline(configURL string, extra ...string) string {
	return strings.Join(append([]string{"console=ttyS0", "plinth.config=" + configURL}, extra...), " ")
}

// QemuArgs returns the arguments of the QEMU that boots node n in mode,
// with its tap open as tapFD, its QMP connection as qmpFD and its serial
// console on standard output. QEMU exits when the guest reboots
// (-no-reboot): the launcher starts it again, so that each boot chooses
// between the live kernel and the installed disk.
//
// Live boots the image's kernel with configURL on its command line; disk
// boots the node's disk through OVMF (the code read-only, the node's own
// variable store writable) and systemd-boot on its ESP.
func (s *Spec) QemuArgs(n NodeSpec, mode BootMode, configURL string) []string {
	cpu := "max"
	if s.Accel == AccelKVM {
		cpu = "host"
	}
	args := []string{
		"-name", n.Name,
		"-accel", s.Accel, "-cpu", cpu,
		"-smp", strconv.Itoa(n.CPUs), "-m", strconv.Itoa(n.MemoryMiB),
		"-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
		"-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
		"-chardev", fmt.Sprintf("socket,id=qmp,fd=%d", qmpFD), "-mon", "chardev=qmp,mode=control",
		"-no-reboot",
		"-netdev", fmt.Sprintf("tap,id=net0,fd=%d", tapFD),
		"-device", "virtio-net-pci,netdev=net0,mac=" + n.MAC + ",romfile=",
		"-pidfile", s.pidFile(n.Name),
	}
	disk := "virtio-blk-pci,drive=disk0"
	if mode == BootDisk {
		disk += ",bootindex=0"
	}
	if n.Disk != "" {
		// writeback: the guest's flushes reach the host file (fsync), and
		// what QEMU wrote survives QEMU being killed; never cache=unsafe.
		args = append(args, "-drive", "file="+optValue(n.Disk)+",format=raw,if=none,id=disk0,cache=writeback,discard=unmap",
			"-device", disk)
	}
	if mode == BootDisk {
		return append(args,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+optValue(s.OVMFCode),
			"-drive", "if=pflash,format=raw,unit=1,file="+optValue(n.Vars))
	}
	if s.Firmware != "" {
		args = append(args, "-bios", s.Firmware)
	}
	return append(args, "-kernel", s.Kernel, "-initrd", s.Initrd, "-append", KernelCmdline(configURL, s.KernelArgs...))
}

// probeArgs returns the arguments of the boot that probes an accelerator:
// no network, console on standard output, exit instead of rebooting.
func probeArgs(accel, firmware, kernel, initrd string) []string {
	cpu := "max"
	if accel == AccelKVM {
		cpu = "host"
	}
	args := []string{
		"-accel", accel, "-cpu", cpu, "-smp", "1", "-m", "512",
		"-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
		"-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console", "-no-reboot",
	}
	if firmware != "" {
		args = append(args, "-bios", firmware)
	}
	return append(args, "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0 panic=-1 quiet")
}

// optValue escapes a value of a QEMU option list (commas are doubled).
func optValue(v string) string { return strings.ReplaceAll(v, ",", ",,") }

// quoteArgs renders a command line for logs, quoting words with spaces.
func quoteArgs(bin string, args []string) string {
	words := []string{bin}
	for _, a := range args {
		if strings.ContainsAny(a, " \t\"'") {
			a = strconv.Quote(a)
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}
