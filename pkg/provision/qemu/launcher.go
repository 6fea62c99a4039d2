package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

// qemuStopTimeout is how long the launcher waits for QEMUs to exit after
// SIGTERM before it kills them.
const qemuStopTimeout = 10 * time.Second

// RunLauncher runs the cluster whose state is in dir until ctx ends: the
// DHCP server and the config server on the gateway, and one QEMU per node
// (see the package documentation). It records what happens in
// StatusFile and logs to log. When ctx ends it stops the QEMUs and the
// servers and returns nil; a failure to start returns the error, after
// stopping what was started.
func RunLauncher(ctx context.Context, dir string, log *slog.Logger) (err error) {
	spec, err := LoadSpec(dir)
	if err != nil {
		return err
	}
	l := &launcher{spec: spec, log: log, vms: map[string]*vm{}}
	l.status = newStatusRecorder(dir, os.Getpid(), time.Now, func(err error) { log.Warn("status not recorded", "error", err) })
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, LauncherPIDFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return fmt.Errorf("launcher: %w", err)
	}
	defer os.Remove(filepath.Join(dir, LauncherPIDFile))
	defer func() {
		l.stop()
		l.status.update(func(s *Status) {
			s.Stopped = time.Now()
			if err != nil {
				s.Error = err.Error()
			}
		})
	}()
	if err := l.start(); err != nil {
		return err // printed by the caller, into the same log
	}
	log.Info("cluster running", "cluster", spec.Cluster, "nodes", len(spec.Nodes), "config_server", l.server)
	<-ctx.Done()
	log.Info("stopping cluster", "cluster", spec.Cluster)
	return nil
}

// launcher is one cluster's running servers and VMs.
type launcher struct {
	spec   *Spec
	log    *slog.Logger
	status *statusRecorder
	dhcp   *dhcpServer
	http   *http.Server
	server netip.AddrPort // the config server's address

	mu  sync.Mutex
	vms map[string]*vm
}

// vm is one running QEMU.
type vm struct {
	cmd    *exec.Cmd
	done   chan struct{}
	stderr *tailBuffer
}

// start brings up the servers, then the VMs.
func (l *launcher) start() error {
	s := l.spec
	table, err := newLeaseTable(s)
	if err != nil {
		return err
	}
	onAck := func(node string) {
		l.status.node(node, func(n *NodeStatus, now time.Time) { n.Leases++; n.Leased = now })
	}
	if l.dhcp, err = startDHCP(s.Net.HostLink, table, l.log.With("server", "dhcp"), onAck); err != nil {
		return err
	}
	ln, err := net.Listen("tcp4", net.JoinHostPort(s.Gateway.String(), "0"))
	if err != nil {
		return fmt.Errorf("config server on %s: %w", s.Gateway, err)
	}
	l.server = netip.MustParseAddrPort(ln.Addr().String())
	onServe := func(node string) {
		l.status.node(node, func(n *NodeStatus, now time.Time) { n.ConfigFetches++; n.ConfigFetched = now })
	}
	l.http = &http.Server{
		Handler:           newConfigServer(s, l.log.With("server", "configs"), onServe),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelWarn),
	}
	go func() { _ = l.http.Serve(ln) }()
	l.status.update(func(st *Status) { st.ConfigServer = l.server.String() })

	for _, n := range s.Nodes {
		if err := l.startVM(n); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	l.status.update(func(st *Status) { st.Ready = true })
	return nil
}

// startVM opens the node's tap and starts its QEMU.
func (l *launcher) startVM(n NodeSpec) error {
	s := l.spec
	tap, err := openTap(s.Net, n.Tap)
	if err != nil {
		return err
	}
	defer tap.Close() // QEMU holds its own copy
	console, err := os.OpenFile(s.consoleLog(n.Name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("console log: %w", err)
	}
	args := s.QemuArgs(n, ConfigURL(l.server, n.Name))
	cmd := exec.Command(s.Binary, args...)
	cmd.ExtraFiles = []*os.File{tap}
	v := &vm{cmd: cmd, done: make(chan struct{}), stderr: &tailBuffer{max: 8 << 10}}
	cmd.Stderr = v.stderr
	// QEMU dies with the launcher, whatever kills it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		console.Close()
		return fmt.Errorf("qemu: %w", err)
	}
	l.log.Info("starting qemu", "node", n.Name, "command", quoteArgs(s.Binary, args))
	if err := cmd.Start(); err != nil {
		console.Close()
		return fmt.Errorf("start %s: %w", s.Binary, err)
	}
	l.status.node(n.Name, func(ns *NodeStatus, now time.Time) { ns.PID = cmd.Process.Pid; ns.Started = now })
	l.mu.Lock()
	l.vms[n.Name] = v
	l.mu.Unlock()
	go func() {
		defer close(v.done)
		copyConsole(out, console, time.Now, func(arrived time.Time, uptime time.Duration) {
			l.status.node(n.Name, func(ns *NodeStatus, _ time.Time) {
				ns.Boots++
				ns.InitStarted = arrived
				ns.KernelStarted = arrived.Add(-uptime)
			})
		})
		werr := cmd.Wait()
		console.Close()
		why := "exited"
		if werr != nil {
			why = werr.Error()
		}
		if msg := v.stderr.String(); msg != "" {
			why += ": " + tailLines(msg, 3)
		}
		l.log.Info("qemu exited", "node", n.Name, "status", why)
		l.status.node(n.Name, func(ns *NodeStatus, now time.Time) { ns.Exited = now; ns.ExitError = why })
	}()
	return nil
}

// stop ends the VMs (SIGTERM, then SIGKILL after qemuStopTimeout) and
// the servers.
func (l *launcher) stop() {
	l.mu.Lock()
	vms := make([]*vm, 0, len(l.vms))
	for _, v := range l.vms {
		vms = append(vms, v)
	}
	l.mu.Unlock()
	for _, v := range vms {
		_ = v.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(qemuStopTimeout)
	for _, v := range vms {
		select {
		case <-v.done:
		case <-deadline:
			_ = v.cmd.Process.Kill()
			<-v.done
		}
	}
	if l.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = l.http.Shutdown(ctx)
		cancel()
	}
	if l.dhcp != nil {
		l.dhcp.close()
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = t.b[over:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}

// errLauncherGone reports a launcher that exited before the cluster was up.
var errLauncherGone = errors.New("cluster launcher exited")
