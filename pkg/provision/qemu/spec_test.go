package qemu

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/pkg/provision"
)

func testRequest(dir string) provision.ClusterRequest {
	return provision.ClusterRequest{
		Name: "demo", Network: netip.MustParsePrefix("10.5.0.0/24"), Image: "_out", StateDir: dir,
		Nodes: []provision.NodeRequest{
			{Name: "demo-controlplane-1", Type: provision.TypeControlPlane, IP: netip.MustParseAddr("10.5.0.2"), Config: []byte("cp"), CPUs: 1.5, MemoryMiB: 1024},
			{Name: "demo-worker-1", Type: provision.TypeWorker, IP: netip.MustParseAddr("10.5.0.3"), Config: []byte("w")},
		},
	}
}

func TestNetworkNames(t *testing.T) {
	a, b := networkNames("/root/.plinth/clusters/demo"), networkNames("/tmp/x/clusters/demo")
	if a == b {
		t.Fatalf("two state directories share names: %+v", a)
	}
	if again := networkNames("/root/.plinth/clusters/demo/"); again != a {
		t.Errorf("names depend on a trailing slash: %+v vs %+v", again, a)
	}
	for _, name := range []string{a.HostLink, a.Bridge, a.Uplink, tapName(998)} {
		if len(name) > 15 { // IFNAMSIZ - 1
			t.Errorf("link name %q is longer than 15 bytes", name)
		}
	}
	if !strings.HasPrefix(a.Bridge, "plinth") || a.Netns != "plinth-"+strings.TrimPrefix(a.HostLink, "plinth") {
		t.Errorf("names: %+v", a)
	}
}

func TestMACAddress(t *testing.T) {
	seen := map[string]bool{}
	for i := range 300 {
		mac := macAddress("/s/demo", i)
		if mac[0]&1 != 0 || mac[0]&2 == 0 {
			t.Fatalf("%s is not a locally administered unicast address", mac)
		}
		if seen[mac.String()] {
			t.Fatalf("%s given twice", mac)
		}
		seen[mac.String()] = true
	}
	if got := macAddress("/s/demo", 0).String(); got != macAddress("/s/demo", 0).String() || !strings.HasPrefix(got, "52:54:") || !strings.HasSuffix(got, ":00:01") {
		t.Errorf("first MAC %s", got)
	}
}

func TestAddresses(t *testing.T) {
	p := netip.MustParsePrefix("10.5.0.77/24")
	if g := gatewayOf(p); g != netip.MustParseAddr("10.5.0.1") {
		t.Errorf("gateway %s", g)
	}
	if b := broadcastOf(p); b != netip.MustParseAddr("10.5.0.255") {
		t.Errorf("broadcast %s", b)
	}
	if b := broadcastOf(netip.MustParsePrefix("10.6.0.0/20")); b != netip.MustParseAddr("10.6.15.255") {
		t.Errorf("broadcast of /20: %s", b)
	}
	for in, want := range map[float64]int{0: DefaultCPUs, 0.5: 1, 1: 1, 1.5: 2, 4: 4} {
		if got := cpusOf(in); got != want {
			t.Errorf("cpusOf(%v) = %d, want %d", in, got, want)
		}
	}
}

func TestCheckRequest(t *testing.T) {
	if err := checkRequest(testRequest("/s/demo")); err != nil {
		t.Fatal(err)
	}
	bad := testRequest("")
	bad.Name = "Bad_Name"
	bad.Network = netip.MustParsePrefix("10.5.0.0/30")
	if err := checkRequest(bad); err == nil || !strings.Contains(err.Error(), "cluster name") ||
		!strings.Contains(err.Error(), "no state directory") || !strings.Contains(err.Error(), "/16 to /29") {
		t.Errorf("bad request: %v", err)
	}
	for _, tc := range []struct {
		change func(r *provision.ClusterRequest)
		want   string
	}{
		{func(r *provision.ClusterRequest) { r.Nodes[1].IP = netip.MustParseAddr("10.5.0.1") }, "other than the gateway"},
		{func(r *provision.ClusterRequest) { r.Nodes[1].IP = netip.MustParseAddr("10.6.0.3") }, "not a host address"},
		{func(r *provision.ClusterRequest) { r.Nodes[1].IP = r.Nodes[0].IP }, "used twice"},
		{func(r *provision.ClusterRequest) { r.Nodes[1].Type = "etcd" }, `type "etcd"`},
		{func(r *provision.ClusterRequest) { r.Nodes[1].Config = nil }, "no machine config"},
		{func(r *provision.ClusterRequest) { r.Nodes[1].MemoryMiB = 128 }, "at least 256 MiB"},
		{func(r *provision.ClusterRequest) { r.Nodes = nil }, "no nodes"},
	} {
		r := testRequest("/s/demo")
		tc.change(&r)
		if err := checkRequest(r); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error with %q, got %v", tc.want, err)
		}
	}
}

func TestNodeSpecsAndSpecFile(t *testing.T) {
	dir := t.TempDir()
	req := testRequest(dir)
	// cluster create has stored the control plane's config already.
	if err := os.WriteFile(filepath.Join(dir, "demo-controlplane-1.yaml"), []byte("stored"), 0o600); err != nil {
		t.Fatal(err)
	}
	nodes, err := nodeSpecs(req, 2048, true)
	if err != nil {
		t.Fatal(err)
	}
	cp, w := nodes[0], nodes[1]
	if cp.Disk != filepath.Join(dir, "demo-controlplane-1.disk") || cp.DiskMiB != 2048 || w.Vars != filepath.Join(dir, "demo-worker-1.vars.fd") {
		t.Errorf("disks: %+v %+v", cp, w)
	}
	if noUEFI, _ := nodeSpecs(req, 2048, false); noUEFI[0].Vars != "" {
		t.Errorf("a variable store without OVMF: %+v", noUEFI[0])
	}
	if cp.CPUs != 2 || cp.MemoryMiB != 1024 || w.CPUs != DefaultCPUs || w.MemoryMiB != DefaultMemoryMiB {
		t.Errorf("sizes: %+v %+v", cp, w)
	}
	if cp.Tap != "tap1" || w.Tap != "tap2" || cp.MAC == w.MAC {
		t.Errorf("taps and MACs: %+v %+v", cp, w)
	}
	if _, err := net.ParseMAC(cp.MAC); err != nil {
		t.Error(err)
	}
	if data, _ := os.ReadFile(cp.Config); string(data) != "stored" {
		t.Errorf("stored config replaced: %q", data)
	}
	if data, _ := os.ReadFile(w.Config); string(data) != "w" {
		t.Errorf("missing config not written: %q", data)
	}

	s := &Spec{Cluster: "demo", StateDir: dir, Network: req.Network, Gateway: gatewayOf(req.Network), Net: networkNames(dir),
		Binary: "/usr/bin/qemu-system-x86_64", Accel: AccelTCG, Kernel: "/o/vmlinuz", Initrd: "/o/initramfs",
		OVMFCode: OVMFCode, ServerPort: ServerPort, Bundle: "/o/boot-bundle.tar", Nodes: nodes}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSpec(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, s)
	}
	if n, ok := got.node("demo-worker-1"); !ok || n.IP != w.IP {
		t.Errorf("node lookup: %+v %v", n, ok)
	}
	if _, err := LoadSpec(t.TempDir()); err == nil {
		t.Error("a directory without launch.json loaded")
	}
}

func TestFindImageAndPreflight(t *testing.T) {
	dir := t.TempDir()
	p := New(Options{Firmware: filepath.Join(dir, "qboot.rom"), Binary: "qemu-system-nonexistent"})
	_, err := p.findImage(dir)
	if err == nil || !strings.Contains(err.Error(), "missing vmlinuz, initramfs") || !strings.Contains(err.Error(), "make image") {
		t.Fatalf("empty image directory: %v", err)
	}
	for _, f := range []string{"vmlinuz", "vmlinux", "initramfs"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := p.findImage(dir)
	if err != nil || img.firmware != "" || img.kernel != filepath.Join(dir, "vmlinuz") {
		t.Fatalf("without qboot: %+v %v", img, err)
	}
	if err := os.WriteFile(p.opts.Firmware, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if img, err = p.findImage(dir); err != nil || img.firmware != p.opts.Firmware || img.kernel != filepath.Join(dir, "vmlinux") {
		t.Fatalf("with qboot: %+v %v", img, err)
	}

	_, err = p.preflight(dir, filepath.Join(dir, "nothing"), netip.MustParsePrefix("10.251.77.0/24"), networkNames(dir))
	for _, want := range []string{
		"qemu-system-nonexistent is not installed: install it with `apt-get install qemu-system-x86`",
		"no launcher command",
		"make image",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("preflight error lacks %q: %v", want, err)
		}
	}
	if os.Geteuid() != 0 && (err == nil || !strings.Contains(err.Error(), "needs root")) {
		t.Errorf("preflight without root: %v", err)
	}
	if strings.Contains(err.Error(), "ovmf") || strings.Contains(err.Error(), "boot bundle") {
		t.Errorf("preflight without install asks for OVMF or a bundle: %v", err)
	}
}

func TestFindDiskBoot(t *testing.T) {
	dir := t.TempDir()
	code, vars := filepath.Join(dir, "CODE.fd"), filepath.Join(dir, "VARS.fd")
	p := New(Options{OVMFCode: code, OVMFVars: vars, Disks: Disks{Install: true, SizeMiB: 512}})
	var img image
	err := p.findDiskBoot(&img, dir)
	for _, want := range []string{"apt-get install ovmf", "--install=false", "no boot bundle boot-bundle.tar in", "at least 1024 MiB"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("install without OVMF, bundle or room: error lacks %q: %v", want, err)
		}
	}
	for _, f := range []string{code, vars, filepath.Join(dir, BundleFile)} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.SetDisks(Disks{Install: true})
	if err := p.findDiskBoot(&img, dir); err != nil || img.ovmfCode != code || img.bundle != filepath.Join(dir, BundleFile) {
		t.Errorf("install with everything: %+v %v", img, err)
	}
	// Without install, OVMF is optional and no bundle is served.
	p = New(Options{OVMFCode: filepath.Join(dir, "none.fd"), OVMFVars: vars})
	img = image{}
	if err := p.findDiskBoot(&img, dir); err != nil || img.ovmfCode != "" || img.bundle != "" {
		t.Errorf("no install, no OVMF: %+v %v", img, err)
	}
}
