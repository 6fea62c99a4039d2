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
		Firmware: QbootROM, Kernel: "/o/vmlinux", Initrd: "/o/initramfs",
		Nodes: []NodeSpec{
			{Name: "demo-controlplane-1", Type: "controlplane", IP: netip.MustParseAddr("10.5.0.2"), MAC: "52:54:aa:bb:00:01", Tap: "tap1", CPUs: 2, MemoryMiB: 1024, Config: dir + "/demo-controlplane-1.yaml"},
			{Name: "demo-worker-1", Type: "worker", IP: netip.MustParseAddr("10.5.0.3"), MAC: "52:54:aa:bb:00:02", Tap: "tap2", CPUs: 1, MemoryMiB: 512, Config: dir + "/demo-worker-1.yaml"},
		},
	}
}

func TestQemuArgs(t *testing.T) {
	s := testSpec("/state/demo")
	url := ConfigURL(netip.MustParseAddrPort("10.5.0.1:8080"), "demo-controlplane-1")
	if url != "http://10.5.0.1:8080/configs/demo-controlplane-1.yaml" {
		t.Fatalf("config URL %s", url)
	}
	args := s.QemuArgs(s.Nodes[0], url)
	got := strings.Join(args, " ")
	for _, want := range []string{
		"-name demo-controlplane-1",
		"-accel tcg -cpu max -smp 2 -m 1024",
		"-nodefaults -no-user-config -display none -monitor none",
		"-chardev stdio,id=console,signal=off -serial chardev:console",
		"-netdev tap,id=net0,fd=3 -device virtio-net-pci,netdev=net0,mac=52:54:aa:bb:00:01,romfile=",
		"-pidfile /state/demo/demo-controlplane-1.pid",
		"-bios " + QbootROM + " -kernel /o/vmlinux -initrd /o/initramfs",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("args lack %q:\n%s", want, got)
		}
	}
	if i := slices.Index(args, "-append"); i < 0 || args[i+1] != "console=ttyS0 plinth.config="+url {
		t.Errorf("kernel command line: %v", args)
	}
	// Reboots must restart the guest, not end QEMU.
	if slices.Contains(args, "-no-reboot") || strings.Contains(got, "panic=") {
		t.Errorf("a reboot would end the VM: %s", got)
	}

	s.Accel, s.Firmware, s.Kernel = AccelKVM, "", "/o/vmlinuz"
	got = strings.Join(s.QemuArgs(s.Nodes[1], url), " ")
	if !strings.Contains(got, "-accel kvm -cpu host -smp 1 -m 512") || strings.Contains(got, "-bios") || !strings.Contains(got, "-kernel /o/vmlinuz -initrd") {
		t.Errorf("kvm and bzImage: %s", got)
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
