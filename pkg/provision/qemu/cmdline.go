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

// KernelCmdline is the node's kernel command line: the serial console and
// where its machine config is. Without panic= init sets kernel.panic=10,
// so a node whose machined dies reboots (and QEMU restarts the guest).
func KernelCmdline(configURL string) string {
	return "console=ttyS0 plinth.config=" + configURL
}

// QemuArgs returns the arguments of the QEMU that runs node n, with its
// tap open as tapFD and its serial console on standard output. QEMU keeps
// running across guest reboots (no -no-reboot): machined reboots with
// reboot(2) and the guest starts again with the same kernel and command
// line.
func (s *Spec) QemuArgs(n NodeSpec, configURL string) []string {
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
		"-netdev", fmt.Sprintf("tap,id=net0,fd=%d", tapFD),
		"-device", "virtio-net-pci,netdev=net0,mac=" + n.MAC + ",romfile=",
		"-pidfile", s.pidFile(n.Name),
	}
	if s.Firmware != "" {
		args = append(args, "-bios", s.Firmware)
	}
	return append(args, "-kernel", s.Kernel, "-initrd", s.Initrd, "-append", KernelCmdline(configURL))
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
