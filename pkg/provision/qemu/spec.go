package qemu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
	"github.com/plinth-os/plinth/pkg/provision"
)

// Files of a cluster's state directory written by this provisioner.
const (
	// SpecFile is what the launcher runs: written by Create, read by the
	// launcher, Destroy and `cluster show`.
	SpecFile = "launch.json"
	// StatusFile is the launcher's account of the cluster (status.go).
	StatusFile = "status.json"
	// LauncherLog is the launcher's standard output and error.
	LauncherLog = "launcher.log"
	// LauncherPIDFile holds the launcher's process id.
	LauncherPIDFile = "launcher.pid"
)

// Spec is a cluster as the launcher runs it. Paths are absolute.
type Spec struct {
	// Cluster is the cluster's name.
	Cluster string `json:"cluster"`
	// StateDir is the cluster's state directory.
	StateDir string `json:"stateDir"`
	// Network is the cluster subnet; Gateway the host's address in it.
	Network netip.Prefix `json:"network"`
	Gateway netip.Addr   `json:"gateway"`
	// Net names the links and the namespace (network.go).
	Net Network `json:"net"`
	// Binary is the QEMU emulator; Accel tcg or kvm.
	Binary string `json:"binary"`
	Accel  string `json:"accel"`
	// Firmware is the qboot ROM when Kernel is an ELF vmlinux booted
	// through it, else empty (QEMU's own firmware boots the bzImage).
	Firmware string `json:"firmware,omitempty"`
	// Kernel and Initrd are the image's files.
	Kernel string `json:"kernel"`
	Initrd string `json:"initrd"`
	// OVMFCode is the UEFI firmware (read-only pflash) that boots an
	// installed node from its disk; empty when OVMF is not installed, and
	// then every start is a live boot.
	OVMFCode string `json:"ovmfCode,omitempty"`
	// ServerPort is the port of the config server on the gateway (0: any
	// free port). It is fixed because the nodes' configs name it in
	// machine.install.image before the launcher runs.
	ServerPort int `json:"serverPort,omitempty"`
	// Bundle is the boot bundle served at BundlePath, from which nodes
	// install to their disks; empty when they are not installed.
	Bundle string `json:"bundle,omitempty"`
	// KernelArgs are added to the live kernel's command line.
	KernelArgs []string `json:"kernelArgs,omitempty"`
	// Nodes in the order of the request (control planes first).
	Nodes []NodeSpec `json:"nodes"`
}

// NodeSpec is one virtual machine.
type NodeSpec struct {
	Name string     `json:"name"`
	Type string     `json:"type"`
	IP   netip.Addr `json:"ip"`
	// MAC is the virtio-net card's fixed address, the DHCP lease's key.
	MAC string `json:"mac"`
	// Tap is the node's tap in the cluster namespace.
	Tap       string `json:"tap"`
	CPUs      int    `json:"cpus"`
	MemoryMiB int    `json:"memoryMiB"`
	// Config is the file of the node's machine config, served to it.
	Config string `json:"config"`
	// Disk is the node's disk, a sparse raw file of DiskMiB MiB seen by
	// the guest as /dev/vda; it lasts until the cluster is destroyed.
	Disk    string `json:"disk,omitempty"`
	DiskMiB int    `json:"diskMiB,omitempty"`
	// Vars is the node's copy of OVMF's variable store (writable pflash):
	// boot entries and systemd-boot's one-shot entry survive restarts.
	Vars string `json:"vars,omitempty"`
}

// nameHash is a short hash of the state directory that makes the names of
// a cluster's links and namespace unique on the host.
func nameHash(stateDir string) string {
	sum := sha256.Sum256([]byte(filepath.Clean(stateDir)))
	return hex.EncodeToString(sum[:4])
}

// networkNames names the links and namespace of the cluster whose state
// lives in stateDir.
func networkNames(stateDir string) Network {
	h := nameHash(stateDir)
	return Network{
		Netns:    "plinth-" + h,
		HostLink: "plinth" + h,
		Bridge:   "plinth" + h,
		Uplink:   "uplink",
	}
}

// tapName is the tap of the i-th node (from 0) inside the namespace.
func tapName(i int) string { return fmt.Sprintf("tap%d", i+1) }

// macAddress is the fixed MAC of the i-th node (from 0): QEMU's locally
// administered prefix 52:54, two bytes of the name hash, the node number.
func macAddress(stateDir string, i int) net.HardwareAddr {
	h, _ := hex.DecodeString(nameHash(stateDir))
	n := i + 1
	return net.HardwareAddr{0x52, 0x54, h[0], h[1], byte(n >> 8), byte(n)}
}

// gatewayOf is the host's address in the cluster network: its first address.
func gatewayOf(subnet netip.Prefix) netip.Addr {
	return subnet.Masked().Addr().Next()
}

// broadcastOf is the broadcast address of an IPv4 network.
func broadcastOf(subnet netip.Prefix) netip.Addr {
	a := subnet.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= uint32(1)<<(32-subnet.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// cpusOf turns a fractional CPU request into QEMU's vCPU count.
func cpusOf(cpus float64) int {
	if cpus <= 0 {
		return DefaultCPUs
	}
	return int(math.Ceil(cpus))
}

// checkRequest validates a cluster request before anything is created.
func checkRequest(req provision.ClusterRequest) error {
	var errs []error
	if err := provision.CheckName(req.Name); err != nil {
		errs = append(errs, err)
	}
	if req.StateDir == "" {
		errs = append(errs, errors.New("no state directory"))
	}
	subnet := req.Network
	if !subnet.IsValid() || !subnet.Addr().Is4() || subnet.Bits() > 29 || subnet.Bits() < 16 {
		errs = append(errs, fmt.Errorf("network %s: expected an IPv4 subnet from /16 to /29, e.g. 10.5.0.0/24", subnet))
		subnet = netip.Prefix{}
	}
	if len(req.Nodes) == 0 {
		errs = append(errs, errors.New("no nodes"))
	}
	seenName, seenIP := map[string]bool{}, map[netip.Addr]bool{}
	for _, n := range req.Nodes {
		switch {
		case n.Type != provision.TypeControlPlane && n.Type != provision.TypeWorker:
			errs = append(errs, fmt.Errorf("node %s: type %q: expected %s or %s", n.Name, n.Type, provision.TypeControlPlane, provision.TypeWorker))
		case seenName[n.Name]:
			errs = append(errs, fmt.Errorf("node %s: name used twice", n.Name))
		case seenIP[n.IP]:
			errs = append(errs, fmt.Errorf("node %s: address %s used twice", n.Name, n.IP))
		case subnet.IsValid() && (!subnet.Contains(n.IP) || n.IP == subnet.Masked().Addr() ||
			n.IP == gatewayOf(subnet) || n.IP == broadcastOf(subnet)):
			errs = append(errs, fmt.Errorf("node %s: address %s is not a host address of %s other than the gateway %s",
				n.Name, n.IP, subnet, gatewayOf(subnet)))
		case len(n.Config) == 0:
			errs = append(errs, fmt.Errorf("node %s: no machine config", n.Name))
		case n.MemoryMiB != 0 && n.MemoryMiB < MinMemoryMiB:
			errs = append(errs, fmt.Errorf("node %s: --memory %d MiB: a VM needs at least %d MiB", n.Name, n.MemoryMiB, MinMemoryMiB))
		}
		seenName[n.Name], seenIP[n.IP] = true, true
	}
	return errors.Join(errs...)
}

// nodeSpecs lays out the request's nodes: taps, MACs, sizes, disks of
// diskMiB, UEFI variable stores when uefi, and config files (NODE.yaml in
// the state directory, where `cluster create` stored them; written here
// when missing).
func nodeSpecs(req provision.ClusterRequest, diskMiB int, uefi bool) ([]NodeSpec, error) {
	out := make([]NodeSpec, len(req.Nodes))
	for i, n := range req.Nodes {
		mem := n.MemoryMiB
		if mem == 0 {
			mem = DefaultMemoryMiB
		}
		cfg := filepath.Join(req.StateDir, n.Name+".yaml")
		if _, err := os.Stat(cfg); err != nil {
			if err := fsutil.WriteFileAtomic(cfg, n.Config, 0o600); err != nil {
				return nil, fmt.Errorf("write config of %s: %w", n.Name, err)
			}
		}
		out[i] = NodeSpec{
			Name: n.Name, Type: n.Type, IP: n.IP, MAC: macAddress(req.StateDir, i).String(), Tap: tapName(i),
			CPUs: cpusOf(n.CPUs), MemoryMiB: mem, Config: cfg,
			Disk: diskFile(req.StateDir, n.Name), DiskMiB: diskMiB,
		}
		if uefi {
			out[i].Vars = varsFile(req.StateDir, n.Name)
		}
	}
	return out, nil
}

// Save writes the spec into its state directory.
func (s *Spec) Save() error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("save %s: %w", SpecFile, err)
	}
	return fsutil.WriteFileAtomic(filepath.Join(s.StateDir, SpecFile), append(data, '\n'), 0o600)
}

// LoadSpec reads the spec of the cluster whose state is in dir.
func LoadSpec(dir string) (*Spec, error) {
	data, err := os.ReadFile(filepath.Join(dir, SpecFile))
	if err != nil {
		return nil, fmt.Errorf("cluster launch spec: %w", err)
	}
	var s Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("cluster launch spec %s: %w", filepath.Join(dir, SpecFile), err)
	}
	return &s, nil
}

// consoleLog is the file the node's serial console is copied to.
func (s *Spec) consoleLog(node string) string { return filepath.Join(s.StateDir, node+".log") }

// pidFile is where QEMU writes its process id.
func (s *Spec) pidFile(node string) string { return filepath.Join(s.StateDir, node+".pid") }

// diskFile is the node's disk image.
func diskFile(dir, node string) string { return filepath.Join(dir, node+".disk") }

// varsFile is the node's copy of the UEFI variable store.
func varsFile(dir, node string) string { return filepath.Join(dir, node+".vars.fd") }
