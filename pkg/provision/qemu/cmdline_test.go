package qemu

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/pkg/provision"
)

func testSpec(dir string) *Spec {
	return &Spec{
		Cluster: "demo", StateDir: dir, Network: netip.MustParsePrefix("10.5.0.0/24"), Gateway: netip.MustParseAddr("10.5.0.1"),
		Net: networkNames(dir), Binary: "qemu-system-x86_64", Accel: AccelTCG,
		Firmware: QbootROM, Kernel: "/o/vmlinux", Initrd: "/o/initramfs", OVMFCode: OVMFCode, ServerPort: ServerPort,
		Nodes: []NodeSpec{
			{Name: "demo-controlplane-1", Type: "controlplane", IP: netip.MustParseAddr("10.5.0.2"), MAC: "52:54:aa:bb:00:01", Tap: "tap1", CPUs: 2, MemoryMiB: 1024, Config: dir + "/demo-controlplane-1.yaml",
				Disk: diskFile(dir, "demo-controlplane-1"), DiskMiB: 2048, Vars: varsFile(dir, "demo-controlplane-1")},
			{Name: "demo-worker-1", Type: "worker", IP: netip.MustParseAddr("10.5.0.3"), MAC: "52:54:aa:bb:00:02", Tap: "tap2", CPUs: 1, MemoryMiB: 512, Config: dir + "/demo-worker-1.yaml",
				Disk: diskFile(dir, "demo-worker-1"), DiskMiB: 2048, Vars: varsFile(dir, "demo-worker-1")},
		},
	}
}

func TestQemuArgsLive(t *testing.T) {
	s := testSpec("/state/demo")
	url := ConfigURL(netip.MustParseAddrPort("10.5.0.1:50080"), "demo-controlplane-1")
	if url != "http://10.5.0.1:50080/configs/demo-controlplane-1.yaml" {
		t.Fatalf("config URL %s", url)
	}
	args := s.QemuArgs(s.Nodes[0], BootLive, url)
	got := strings.Join(args, " ")
	want := "-name demo-controlplane-1 -accel tcg -cpu max -smp 2 -m 1024" +
		" -nodefaults -no-user-config -display none -monitor none" +
		" -chardev stdio,id=console,signal=off -serial chardev:console" +
		" -chardev socket,id=qmp,fd=4 -mon chardev=qmp,mode=control -no-reboot" +
		" -netdev tap,id=net0,fd=3 -device virtio-net-pci,netdev=net0,mac=52:54:aa:bb:00:01,romfile=" +
		" -pidfile /state/demo/demo-controlplane-1.pid" +
		" -drive file=/state/demo/demo-controlplane-1.disk,format=raw,if=none,id=disk0,cache=writeback,discard=unmap" +
		" -device virtio-blk-pci,drive=disk0" +
		" -bios " + QbootROM + " -kernel /o/vmlinux -initrd /o/initramfs -append console=ttyS0 plinth.config=" + url
	if got != want {
		t.Errorf("live args:\n got %s\nwant %s", got, want)
	}
	if i := slices.Index(args, "-append"); i < 0 || args[i+1] != "console=ttyS0 plinth.config="+url {
		t.Errorf("kernel command line is not one argument: %q", args)
	}
	if strings.Contains(got, "pflash") || strings.Contains(got, "bootindex") || strings.Contains(got, "unsafe") {
		t.Errorf("live boot with UEFI parts or an unsafe cache: %s", got)
	}

	s.Accel, s.Firmware, s.Kernel = AccelKVM, "", "/o/vmlinuz"
	got = strings.Join(s.QemuArgs(s.Nodes[1], BootLive, url), " ")
	if !strings.Contains(got, "-accel kvm -cpu host -smp 1 -m 512") || strings.Contains(got, "-bios") || !strings.Contains(got, "-kernel /o/vmlinuz -initrd") {
		t.Errorf("kvm and bzImage: %s", got)
	}
}

func TestQemuArgsDisk(t *testing.T) {
	s := testSpec("/state/a,b")
	args := s.QemuArgs(s.Nodes[1], BootDisk, "http://unused")
	got := strings.Join(args, " ")
	for _, want := range []string{
		"-name demo-worker-1 -accel tcg -cpu max -smp 1 -m 512",
		"-chardev socket,id=qmp,fd=4 -mon chardev=qmp,mode=control -no-reboot",
		"-netdev tap,id=net0,fd=3 -device virtio-net-pci,netdev=net0,mac=52:54:aa:bb:00:02,romfile=",
		// Commas in paths are doubled, as QEMU's option lists want.
		"-drive file=/state/a,,b/demo-worker-1.disk,format=raw,if=none,id=disk0,cache=writeback,discard=unmap -device virtio-blk-pci,drive=disk0,bootindex=0",
		"-drive if=pflash,format=raw,unit=0,readonly=on,file=" + OVMFCode,
		"-drive if=pflash,format=raw,unit=1,file=/state/a,,b/demo-worker-1.vars.fd",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("disk args lack %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"-kernel", "-initrd", "-append", "-bios", "plinth.config"} {
		if strings.Contains(got, not) {
			t.Errorf("disk boot has %s: %s", not, got)
		}
	}
}

func TestProbeArgs(t *testing.T) {
	got := strings.Join(probeArgs(AccelKVM, QbootROM, "/o/vmlinux", "/o/initramfs"), " ")
	for _, want := range []string{"-accel kvm -cpu host", "-no-reboot", "-bios " + QbootROM, "-append console=ttyS0 panic=-1 quiet"} {
		if !strings.Contains(got, want) {
			t.Errorf("probe args lack %q: %s", want, got)
		}
	}
	if strings.Contains(got, "-netdev") {
		t.Errorf("the probe has a network: %s", got)
	}
}

func TestQuoteArgs(t *testing.T) {
	got := quoteArgs("qemu", []string{"-append", "console=ttyS0 quiet", "-m", "1"})
	if got != `qemu -append "console=ttyS0 quiet" -m 1` {
		t.Errorf("got %s", got)
	}
}

// clusterOf is the cluster description Create would save for s.
func clusterOf(s *Spec) *provision.Cluster {
	c := &provision.Cluster{Name: s.Cluster, Provisioner: Name, Network: s.Network, Gateway: s.Gateway, StateDir: s.StateDir}
	for _, n := range s.Nodes {
		c.Nodes = append(c.Nodes, provision.Node{Name: n.Name, Type: n.Type, IP: n.IP})
	}
	return c
}

func TestKernelArgs(t *testing.T) {
	if got := KernelCmdline("http://g/c.yaml", "plinth.memtune=0", "quiet"); got != "console=ttyS0 plinth.config=http://g/c.yaml plinth.memtune=0 quiet" {
		t.Fatalf("KernelCmdline: %q", got)
	}
	if err := CheckKernelArgs([]string{"plinth.memtune=0", "quiet", "plinth.kexec=0"}); err != nil {
		t.Fatalf("good arguments refused: %v", err)
	}
	for arg, want := range map[string]string{
		"":                    "an empty argument",
		"a b":                 "without spaces",
		"a\nb":                "control characters",
		"plinth.config=http:": "plinth.config is set by the provisioner",
		"plinth.slot=B":       "plinth.slot is set by the provisioner",
		"console=tty0":        "console is set by the provisioner",
	} {
		err := CheckKernelArgs([]string{"quiet", arg})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error with %q", arg, err, want)
		}
	}
	p := New(Options{})
	if err := p.SetKernelArgs([]string{"x y"}); err == nil || p.opts.KernelArgs != nil {
		t.Fatalf("SetKernelArgs kept a bad argument: %v %q", err, p.opts.KernelArgs)
	}
}
