// Package qemu provisions local Plinth clusters as QEMU virtual machines
// booting the image of `make image` (vmlinux or vmlinuz, initramfs). It is
// Linux-only and needs root: it creates network namespaces, links and taps.
//
// Each cluster gets a network of its own, so that nothing on the host
// (Docker's FORWARD policy, bridge netfilter) filters traffic between its
// nodes, and nothing of the host's firewall or sysctls is changed:
//
//	host                         namespace plinth-<hash>
//	plinth<hash> (veth) ────────── uplink ─┐
//	  gateway .1/24                        bridge plinth<hash> ── tap1 ── qemu node 1 (.2)
//	  DHCP :67, configs :PORT              └────────────────────── tap2 ── qemu node 2 (.3)
//
// A launcher process per cluster (`plinthctl cluster launcher`, started
// detached so the cluster outlives the CLI) serves DHCP with static leases,
// each node's machine config and the image's boot bundle over HTTP on the
// gateway, runs one QEMU per node, copies each serial console to
// <state>/<node>.log and records what happens in <state>/status.json.
//
// Every node has a disk, <state>/<node>.disk (sparse, /dev/vda in the
// guest). Each start of its QEMU chooses how it boots: live — the image's
// kernel with `plinth.config=http://<gateway>:<port>/configs/<node>.yaml`,
// from which machined installs Plinth to the disk (machine.install, with
// the bundle from the same server) — or, once the disk carries Plinth's
// GPT, from the disk through OVMF and systemd-boot, with the node's own
// UEFI variable store <state>/<node>.vars.fd. QEMU exits at every guest
// reboot (-no-reboot); the launcher learns why from QMP and starts it again
// after a reboot or a power cut (restart.go).
//
// Lifecycle of a cluster:
//
//	Create: check host ─▶ accelerator (KVM probe, else TCG) ─▶ launch.json
//	  ─▶ disks ─▶ network (namespace, bridge, veth, gateway) ─▶ launcher (setsid)
//	  ─▶ launcher: DHCP + config server ─▶ taps ─▶ one QEMU per node ─▶ ready
//	  ─▶ nodes boot live, lease their address, fetch their config ─▶ install,
//	     reboot ─▶ boot from their disks ─▶ APIs answer
//	Destroy (from any state): launcher and QEMUs stopped ─▶ namespace and
//	  veth removed (bridge and taps go with the namespace) ─▶ state directory
//	  (disks included) removed; nothing is left behind.
package qemu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/plinth-os/plinth/pkg/provision"
)

// Name is the provisioner's name.
const Name = "qemu"

// Host tools and paths.
const (
	// DefaultBinary is the QEMU system emulator.
	DefaultBinary = "qemu-system-x86_64"
	// QbootROM is the minimal firmware that boots an ELF vmlinux directly
	// (it skips the bzImage's decompression: seconds under TCG).
	QbootROM = "/usr/share/qemu/qboot.rom"
	// OVMFCode and OVMFVars are Debian's UEFI firmware for QEMU (package
	// ovmf): the code, mapped read-only, and the template of a node's
	// variable store. Installed nodes boot through it from their disks.
	OVMFCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	OVMFVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// Disks and installation.
const (
	// DefaultDiskMiB is the size of a node's disk (a sparse file: only
	// what the guest writes takes space on the host).
	DefaultDiskMiB = 8192
	// MinDiskMiB holds the install layout (600 MiB ESP, META, 100 MiB
	// STATE) and some EPHEMERAL.
	MinDiskMiB = 1024
	// InstallDisk is the node's disk as the guest sees it (virtio-blk).
	InstallDisk = "/dev/vda"
	// ServerPort is where the launcher serves configs and the boot bundle
	// on the gateway. It is fixed so that the configs written before the
	// launcher starts can name it; clusters differ by gateway address.
	ServerPort = 50080
	// BundleFile is the boot bundle of `make image` in the image directory.
	BundleFile = "boot-bundle.tar"
)

// Accelerators.
const (
	AccelTCG = "tcg"
	AccelKVM = "kvm"
)

// Defaults of a node's size when the request leaves them at zero.
const (
	DefaultCPUs      = 2
	DefaultMemoryMiB = 2048
	// MinMemoryMiB is the least memory a node boots with: the kernel
	// unpacks the initramfs (tens of MB) into RAM before init runs.
	MinMemoryMiB = 256
)

// Options configure a Provisioner; zero fields take the defaults.
type Options struct {
	// Launcher is the command that runs a cluster's launcher; the
	// provisioner appends "--state-dir DIR". Required for Create.
	Launcher []string
	// Binary is QEMU (DefaultBinary, looked up in PATH, when empty).
	Binary string
	// Firmware is the qboot ROM (QbootROM when empty).
	Firmware string
	// Accel forces an accelerator; when empty the environment variable
	// PLINTH_VM_ACCEL (tcg or kvm) is read, else KVM is probed.
	Accel string
	// Poll is the interval at which Create reads the launcher's status
	// (default 200ms).
	Poll time.Duration
	// OVMFCode and OVMFVars are the UEFI firmware's files (the OVMF
	// constants when empty).
	OVMFCode, OVMFVars string
	// Disks sizes the nodes' disks and says whether they are installed.
	Disks Disks
	// KernelArgs are added to the live kernel's command line (`cluster
	// create --extra-kernel-args`); an installed node keeps them in its
	// boot entries.
	KernelArgs []string
}

// Disks says what disks Create gives the nodes (`cluster create
// --disk-size` and `--install`).
type Disks struct {
	// SizeMiB is each node's disk (DefaultDiskMiB when 0).
	SizeMiB int
	// Install serves the image directory's boot bundle to the nodes,
	// whose configs carry InstallPatch; Create then requires OVMF, to
	// boot the installed disks.
	Install bool
}

// Provisioner creates and destroys clusters of QEMU virtual machines.
type Provisioner struct {
	opts Options
}

var (
	_ provision.Provisioner = (*Provisioner)(nil)
	_ provision.StateReader = (*Provisioner)(nil)
)

// New returns a Provisioner; see Options for the defaults.
func New(opts Options) *Provisioner {
	if opts.Binary == "" {
		opts.Binary = DefaultBinary
	}
	if opts.Firmware == "" {
		opts.Firmware = QbootROM
	}
	if opts.Poll <= 0 {
		opts.Poll = 200 * time.Millisecond
	}
	if opts.OVMFCode == "" {
		opts.OVMFCode = OVMFCode
	}
	if opts.OVMFVars == "" {
		opts.OVMFVars = OVMFVars
	}
	return &Provisioner{opts: opts}
}

// Name is "qemu".
func (p *Provisioner) Name() string { return Name }

// SetDisks sets the disks of the clusters Create makes from now on.
func (p *Provisioner) SetDisks(d Disks) { p.opts.Disks = d }

// SetKernelArgs sets the extra kernel arguments of the clusters Create
// makes from now on, after checking them with CheckKernelArgs.
func (p *Provisioner) SetKernelArgs(args []string) error {
	if err := CheckKernelArgs(args); err != nil {
		return err
	}
	p.opts.KernelArgs = args
	return nil
}

// reservedArgs are the kernel arguments the provisioner itself sets.
var reservedArgs = []string{"plinth.config", "plinth.slot", "console"}

// CheckKernelArgs refuses a kernel argument that is empty, holds white
// space or a control character, or is one the provisioner sets itself.
func CheckKernelArgs(args []string) error {
	for _, a := range args {
		if a == "" {
			return errors.New("--extra-kernel-args: an empty argument")
		}
		if i := strings.IndexFunc(a, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
			return fmt.Errorf("--extra-kernel-args %q: one argument a flag, without spaces or control characters (repeat the flag for several)", a)
		}
		key, _, _ := strings.Cut(a, "=")
		if slices.Contains(reservedArgs, key) {
			return fmt.Errorf("--extra-kernel-args %q: %s is set by the provisioner", a, key)
		}
	}
	return nil
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("%w", context.Cause(ctx))
	case <-t.C:
		return nil
	}
}
