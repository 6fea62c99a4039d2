package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/plinth-os/plinth/pkg/provision"
)

// procRoot is where processes are looked up.
const procRoot = "/proc"

// stopGrace is how long the launcher and QEMUs get to exit after SIGTERM;
// the launcher itself gives its QEMUs qemuStopTimeout.
const stopGrace = qemuStopTimeout + 5*time.Second

// Destroy stops the cluster's launcher and QEMUs, removes its network
// (namespace, bridge, taps, veth) and its state directory. It finds them
// from the state directory's path, so it also cleans up after a cluster
// whose state directory was removed by hand.
func (p *Provisioner) Destroy(ctx context.Context, name string, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	out := &lineWriter{w: progress}
	if err := provision.CheckName(name); err != nil {
		return err
	}
	dir, err := provision.Dir(name)
	if err != nil {
		return err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return err
	}
	names := networkNames(dir)
	if spec, err := LoadSpec(dir); err == nil {
		names = spec.Net
	}
	procs, err := clusterProcs(procRoot, dir)
	if err != nil {
		return err
	}
	hostLink, namespace := names.present()
	_, statErr := os.Stat(dir)
	if len(procs) == 0 && !hostLink && !namespace && statErr != nil {
		return fmt.Errorf("%w: no state directory %s, no launcher or QEMU, no link %s or namespace %s", provision.ErrNotFound, dir, names.HostLink, names.Netns)
	}
	if os.Geteuid() != 0 && (len(procs) > 0 || hostLink || namespace) {
		return fmt.Errorf("destroying cluster %s stops its VMs and removes its network namespace and links: run plinthctl as root", name)
	}
	if err := p.remove(ctx, dir, names, out); err != nil {
		return fmt.Errorf("destroy cluster %s: %w", name, err)
	}
	if statErr == nil {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("destroy cluster %s: remove state directory: %w", name, err)
		}
		out.printf("removed state directory %s", dir)
	}
	return nil
}

// remove stops the cluster's processes and removes its network.
func (p *Provisioner) remove(ctx context.Context, dir string, names Network, out *lineWriter) error {
	var errs []error
	procs, err := clusterProcs(procRoot, dir)
	if err != nil {
		errs = append(errs, err)
	}
	if len(procs) > 0 {
		if err := stopProcs(ctx, procRoot, procs, stopGrace); err != nil {
			errs = append(errs, err)
		}
		for _, pr := range procs {
			out.printf("stopped %s (pid %d)", pr.Role, pr.PID)
		}
	}
	removed, err := names.teardown()
	for _, r := range removed {
		out.printf("removed %s", r)
	}
	if err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// NodeStates tells whether each node's QEMU runs: "running", "restarting"
// (between a guest's reboot and its next QEMU, or waiting out a restart
// loop's backoff), "exited" (the guest powered off, or QEMU failed or was
// stopped), "stopped" (the launcher is gone, and its VMs with it) or
// "missing" (never started).
func (p *Provisioner) NodeStates(_ context.Context, c *provision.Cluster) (map[string]string, error) {
	d, err := ReadDetails(c.StateDir)
	if err != nil {
		return nil, err
	}
	states := map[string]string{}
	for _, n := range c.Nodes {
		states[n.Name] = "missing"
	}
	for _, n := range d.Nodes {
		states[n.Name] = n.State
	}
	return states, nil
}

// Details is what `cluster show` prints about a QEMU cluster.
type Details struct {
	// LauncherPID is the launcher's process id; LauncherRunning whether it runs.
	LauncherPID     int
	LauncherRunning bool
	// Net names the network; Gateway is the host's address in it.
	Net     Network
	Gateway string
	// ConfigServer is gateway:port of the config server.
	ConfigServer string
	// Accel is the accelerator of the VMs.
	Accel string
	// Bundle is the boot bundle the nodes install from ("" when they are
	// not installed); OVMF the UEFI firmware of disk boots ("" without).
	Bundle, OVMF string
	// LauncherLog is the launcher's log file.
	LauncherLog string
	// Nodes in the cluster's order.
	Nodes []NodeDetails
}

// NodeDetails is one VM.
type NodeDetails struct {
	Name  string
	State string
	// PID is QEMU's process id (0 when never started).
	PID int
	// Boots counts the kernel boots, reboots included.
	Boots int
	// ConfigFetches counts the configs the node fetched; BundleFetches
	// the boot bundles (installs).
	ConfigFetches, BundleFetches int
	MAC, Tap                     string
	// Console is the console log file.
	Console string
	// BootMode is how the current (or last) QEMU booted: live or disk.
	BootMode BootMode
	// Restarts counts the QEMUs started again (reboots, power cuts);
	// LastExit says why the last one ended ("" when none did).
	Restarts int
	LastExit string
	// Disk is the disk file, DiskBytes its size and DiskUsed the bytes
	// it takes on the host (it is sparse).
	Disk                string
	DiskBytes, DiskUsed int64
}

// ReadDetails reads a cluster's spec and status and checks its processes.
func ReadDetails(dir string) (*Details, error) {
	spec, err := LoadSpec(dir)
	if err != nil {
		return nil, err
	}
	st, err := ReadStatus(dir)
	if err != nil {
		st = &Status{Nodes: map[string]*NodeStatus{}}
	}
	d := &Details{
		LauncherPID: st.PID, Net: spec.Net, Gateway: spec.Gateway.String(), ConfigServer: st.ConfigServer,
		Accel: spec.Accel, LauncherLog: filepath.Join(dir, LauncherLog), Bundle: spec.Bundle, OVMF: spec.OVMFCode,
	}
	d.LauncherRunning = st.Stopped.IsZero() && alive(procRoot, st.PID) && isLauncher(st.PID, dir)
	for _, n := range spec.Nodes {
		nd := NodeDetails{Name: n.Name, State: "missing", MAC: n.MAC, Tap: n.Tap, Console: spec.consoleLog(n.Name), Disk: n.Disk}
		if n.Disk != "" {
			nd.DiskBytes, nd.DiskUsed, _ = diskUsage(n.Disk)
		}
		if ns := st.Nodes[n.Name]; ns != nil {
			nd.PID, nd.Boots, nd.ConfigFetches, nd.BundleFetches = ns.PID, ns.Boots, ns.ConfigFetches, ns.BundleFetches
			nd.BootMode, nd.Restarts, nd.LastExit = ns.BootMode, ns.Restarts, ns.LastExitReason
			switch {
			case !ns.Exited.IsZero():
				nd.State = "exited"
			case !d.LauncherRunning:
				nd.State = "stopped"
			case !alive(procRoot, ns.PID):
				nd.State = "restarting"
			case ns.PID > 0:
				nd.State = "running"
			}
		}
		d.Nodes = append(d.Nodes, nd)
	}
	return d, nil
}

// isLauncher reports whether pid is the launcher of the cluster in dir
// (and not another process that got its pid).
func isLauncher(pid int, dir string) bool {
	raw, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	return roleOf(args, filepath.Clean(dir)) == "launcher"
}
