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
// detached so the cluster outlives the CLI) serves DHCP with static leases
// and each node's machine config over HTTP on the gateway, runs one QEMU per
// node with `plinth.config=http://<gateway>:<port>/configs/<node>.yaml` on
// its kernel command line, copies each serial console to <state>/<node>.log
// and records what happens in <state>/status.json.
//
// Lifecycle of a cluster:
//
//	Create: check host ─▶ accelerator (KVM probe, else TCG) ─▶ launch.json
//	  ─▶ network (namespace, bridge, veth, gateway) ─▶ launcher (setsid)
//	  ─▶ launcher: DHCP + config server ─▶ taps ─▶ one QEMU per node ─▶ ready
//	  ─▶ nodes boot, lease their address, fetch their config ─▶ APIs answer
//	Destroy (from any state): launcher and QEMUs stopped ─▶ namespace and
//	  veth removed (bridge and taps go with the namespace) ─▶ state directory
//	  removed; nothing is left behind.
package qemu

import (
	"context"
	"fmt"
	"time"

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
	return &Provisioner{opts: opts}
}

// Name is "qemu".
func (p *Provisioner) Name() string { return Name }

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
