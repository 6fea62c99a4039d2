package qemu

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/provision"
)

// cleanupTimeout bounds the removal of a failed cluster, which runs even
// when the Create context was cancelled.
const cleanupTimeout = time.Minute

// Keys of provision.Cluster.Extra this provisioner sets.
const (
	ExtraNetns        = "netns"
	ExtraHostLink     = "hostLink"
	ExtraBridge       = "bridge"
	ExtraAccel        = "accel"
	ExtraImage        = "image"
	ExtraLauncherPID  = "launcherPid"
	ExtraConfigServer = "configServer"
)

// Create checks the host, sets up the cluster network, starts the
// launcher and waits until every node has fetched its config. On failure
// it stops the launcher and removes the network; the caller removes the
// state directory.
func (p *Provisioner) Create(ctx context.Context, req provision.ClusterRequest, progress io.Writer) (_ *provision.Cluster, err error) {
	if progress == nil {
		progress = io.Discard
	}
	out := &lineWriter{w: progress}
	if err := checkRequest(req); err != nil {
		return nil, fmt.Errorf("create cluster: %w", err)
	}
	dir, err := filepath.Abs(req.StateDir)
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	req.StateDir = dir
	names := networkNames(dir)
	img, err := p.preflight(dir, req.Image, req.Network.Masked(), names)
	if err != nil {
		return nil, err
	}
	accel, why := p.chooseAccel(ctx, img.firmware, img.kernel, img.initrd)
	out.printf("accelerator: %s (%s)", accel, why)
	if accel == AccelTCG {
		out.printf("boot kernel: %s", kernelNote(img))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	nodes, err := nodeSpecs(req, p.diskMiB(), img.ovmfCode != "")
	if err != nil {
		return nil, err
	}
	spec := &Spec{
		Cluster: req.Name, StateDir: dir, Network: req.Network.Masked(), Gateway: gatewayOf(req.Network),
		Net: names, Binary: p.opts.Binary, Accel: accel, Firmware: img.firmware, Kernel: img.kernel, Initrd: img.initrd,
		OVMFCode: img.ovmfCode, ServerPort: ServerPort, Bundle: img.bundle, KernelArgs: p.opts.KernelArgs, Nodes: nodes,
	}
	if err := spec.Save(); err != nil {
		return nil, err
	}
	out.printf("disks: %s per node (sparse), %s", sizeMiB(p.diskMiB()), installNote(spec))

	defer func() {
		if err == nil {
			return
		}
		out.printf("removing what was created for cluster %s", req.Name)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if cerr := p.remove(cctx, dir, names, out); cerr != nil {
			err = fmt.Errorf("%w; cleanup failed too (run `plinthctl cluster destroy --name %s`): %v", err, req.Name, cerr)
		}
	}()

	if err := createDisks(spec, p.opts.OVMFVars); err != nil {
		return nil, err
	}
	if err := names.setup(netip.PrefixFrom(spec.Gateway, spec.Network.Bits())); err != nil {
		return nil, err
	}
	out.printf("network: bridge %s in namespace %s; host link %s %s/%d", names.Bridge, names.Netns, names.HostLink, spec.Gateway, spec.Network.Bits())
	pid, exited, err := p.startLauncher(dir)
	if err != nil {
		return nil, err
	}
	st, err := p.waitReady(ctx, dir, exited)
	if err != nil {
		return nil, err
	}
	out.printf("launcher pid %d (log %s): DHCP on %s, configs on http://%s/configs/", pid, filepath.Join(dir, LauncherLog), names.HostLink, st.ConfigServer)
	cluster := &provision.Cluster{
		Name: req.Name, Provisioner: Name, Network: spec.Network, Gateway: spec.Gateway, StateDir: dir,
		Extra: map[string]string{
			ExtraNetns: names.Netns, ExtraHostLink: names.HostLink, ExtraBridge: names.Bridge, ExtraAccel: accel,
			ExtraImage: filepath.Dir(img.initrd), ExtraLauncherPID: strconv.Itoa(pid), ExtraConfigServer: st.ConfigServer,
		},
	}
	for _, n := range nodes {
		ns := st.Nodes[n.Name]
		cluster.Nodes = append(cluster.Nodes, provision.Node{
			Name: n.Name, Type: n.Type, IP: n.IP, ID: strconv.Itoa(ns.PID),
			APIEndpoint: net.JoinHostPort(n.IP.String(), strconv.Itoa(constants.ApidPort)),
		})
		out.printf("started %s (%s, %s, %s): qemu pid %d, %s boot, %d CPUs, %d MiB, disk %s, console %s",
			n.Name, n.Type, n.IP, n.MAC, ns.PID, ns.BootMode, n.CPUs, n.MemoryMiB, n.Disk, spec.consoleLog(n.Name))
	}
	if err := cluster.Save(); err != nil {
		return nil, err
	}
	if err := p.waitConfigs(ctx, spec, exited, out); err != nil {
		return nil, err
	}
	return cluster, nil
}

// diskMiB is the size of the nodes' disks.
func (p *Provisioner) diskMiB() int {
	if p.opts.Disks.SizeMiB > 0 {
		return p.opts.Disks.SizeMiB
	}
	return DefaultDiskMiB
}

// sizeMiB words a size in MiB.
func sizeMiB(mib int) string {
	if mib%1024 == 0 {
		return strconv.Itoa(mib/1024) + " GiB"
	}
	return strconv.Itoa(mib) + " MiB"
}

// installNote says how the nodes boot.
func installNote(s *Spec) string {
	switch {
	case s.Bundle != "":
		return "installed from " + s.Bundle + " at the first boot, then booted from the disk through " + s.OVMFCode
	case s.OVMFCode != "":
		return "not installed: every boot is live (a disk installed by other means boots through " + s.OVMFCode + ")"
	}
	return "not installed: every boot is live"
}

// kernelNote says which kernel boots and, when it is the bzImage, how to
// boot faster.
func kernelNote(img image) string {
	if img.firmware != "" {
		return img.kernel + " through " + img.firmware
	}
	return img.kernel + " (install qboot, or build vmlinux with `make image`, to skip its decompression: seconds under TCG)"
}

// startLauncher starts the cluster's launcher detached from the CLI (its
// own session, output to LauncherLog) and returns its pid and a channel
// that yields its exit.
func (p *Provisioner) startLauncher(dir string) (int, <-chan error, error) {
	logf, err := os.OpenFile(filepath.Join(dir, LauncherLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, nil, fmt.Errorf("launcher log: %w", err)
	}
	defer logf.Close()
	args := append(append([]string{}, p.opts.Launcher[1:]...), "--state-dir", dir)
	cmd := exec.Command(p.opts.Launcher[0], args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("start the cluster launcher %s: %w", p.opts.Launcher[0], err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return cmd.Process.Pid, exited, nil
}

// waitReady waits until the launcher says every QEMU has started.
func (p *Provisioner) waitReady(ctx context.Context, dir string, exited <-chan error) (*Status, error) {
	for {
		if st, err := ReadStatus(dir); err == nil && st.Ready {
			return st, nil
		}
		select {
		case werr := <-exited:
			return nil, launcherError(dir, werr)
		default:
		}
		if err := pause(ctx, p.opts.Poll); err != nil {
			return nil, fmt.Errorf("waiting for the cluster launcher: %w (its log: %s)", err, filepath.Join(dir, LauncherLog))
		}
	}
}

// launcherError words a launcher's early exit with the end of its log.
func launcherError(dir string, werr error) error {
	log, _ := os.ReadFile(filepath.Join(dir, LauncherLog))
	status := "exit status 0"
	if werr != nil {
		status = werr.Error()
	}
	return fmt.Errorf("%w (%s); the end of %s:\n%s", errLauncherGone, status, filepath.Join(dir, LauncherLog), tailLines(string(log), 10))
}

// waitConfigs reports each node's boot, lease and config fetch as they
// happen, until every node has fetched its config. A QEMU or launcher
// that exits ends the wait with its reason and the console's last lines.
func (p *Provisioner) waitConfigs(ctx context.Context, s *Spec, exited <-chan error, out *lineWriter) error {
	seen := map[string]bool{}
	once := func(key string) bool {
		if seen[key] {
			return false
		}
		seen[key] = true
		return true
	}
	for {
		st, err := ReadStatus(s.StateDir)
		if err != nil {
			return err
		}
		done := 0
		for _, n := range s.Nodes {
			ns := st.Nodes[n.Name]
			if ns == nil {
				continue
			}
			if !ns.Exited.IsZero() {
				return fmt.Errorf("node %s: QEMU %s; the end of its console (%s):\n%s", n.Name, ns.ExitError, s.consoleLog(n.Name), consoleTail(s, n.Name))
			}
			if ns.Boots > 0 && once(n.Name+"/boot") {
				out.printf("%s: init started %.1fs after QEMU (kernel up %.1fs)", n.Name,
					ns.InitStarted.Sub(ns.Started).Seconds(), ns.InitStarted.Sub(ns.KernelStarted).Seconds())
			}
			if ns.Leases > 0 && once(n.Name+"/lease") {
				out.printf("%s: leased %s by DHCP", n.Name, n.IP)
			}
			if ns.ConfigFetches > 0 {
				done++
				if once(n.Name + "/config") {
					out.printf("%s: fetched its config %.1fs after QEMU started", n.Name, ns.ConfigFetched.Sub(ns.Started).Seconds())
				}
			}
		}
		if done == len(s.Nodes) {
			return nil
		}
		select {
		case werr := <-exited:
			return launcherError(s.StateDir, werr)
		default:
		}
		if err := pause(ctx, p.opts.Poll); err != nil {
			return fmt.Errorf("waiting for the nodes to fetch their configs: %w%s", err, pendingNodes(s, st))
		}
	}
}

// pendingNodes describes the nodes that have not fetched their config.
func pendingNodes(s *Spec, st *Status) string {
	var b []byte
	for _, n := range s.Nodes {
		ns := st.Nodes[n.Name]
		if ns != nil && ns.ConfigFetches > 0 {
			continue
		}
		state := "QEMU not started"
		switch {
		case ns == nil:
		case ns.Leases > 0:
			state = "leased its address, no config fetched"
		case ns.Boots > 0:
			state = "booted, no DHCP lease yet"
		default:
			state = "init not started yet"
		}
		b = fmt.Appendf(b, "\n%s: %s; the end of its console (%s):\n%s", n.Name, state, s.consoleLog(n.Name), consoleTail(s, n.Name))
	}
	return string(b)
}

// consoleTail is the last lines of a node's console log.
func consoleTail(s *Spec, node string) string {
	data, err := os.ReadFile(s.consoleLog(node))
	if err != nil {
		return "(no console log: " + err.Error() + ")"
	}
	return tailLines(string(data), 8)
}

// lineWriter serializes progress lines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}
