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
// DHCP server and the config server on the gateway, and one QEMU per node,
// started again when its guest reboots or it is killed (see restart.go
// and the package documentation). It records what happens in StatusFile
// and logs to log. When ctx ends it stops the QEMUs and the servers and
// returns nil; a failure to start returns the error, after stopping what
// was started.
func RunLauncher(ctx context.Context, dir string, log *slog.Logger) (err error) {
	spec, err := LoadSpec(dir)
	if err != nil {
		return err
	}
	l := &launcher{spec: spec, log: log, vms: map[string]*vm{}, openTap: openTap}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	defer l.cancel()
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
	// openTap opens a node's tap (openTap; tests replace it).
	openTap func(n Network, tap string) (*os.File, error)

	// ctx ends when the launcher stops; it cuts restart backoffs short.
	ctx    context.Context
	cancel context.CancelFunc
	// supervisors counts the goroutines that restart the nodes.
	supervisors sync.WaitGroup

	mu       sync.Mutex
	vms      map[string]*vm // each node's current QEMU
	stopping bool           // set once stop began: no QEMU starts after
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
	addr := netip.AddrPortFrom(s.Gateway, uint16(s.ServerPort))
	ln, err := net.Listen("tcp4", addr.String())
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("config server on %s: port %d is taken (another program listens on it, on this or on every address): %w", addr, s.ServerPort, err)
		}
		return fmt.Errorf("config server on %s: %w", addr, err)
	}
	l.server = netip.MustParseAddrPort(ln.Addr().String())
	onServe := func(node string) {
		l.status.node(node, func(n *NodeStatus, now time.Time) { n.ConfigFetches++; n.ConfigFetched = now })
	}
	onBundle := func(node string) {
		l.status.node(node, func(n *NodeStatus, _ time.Time) { n.BundleFetches++ })
	}
	l.http = &http.Server{
		Handler:           newConfigServer(s, l.log.With("server", "configs"), onServe, onBundle),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelWarn),
	}
	go func() { _ = l.http.Serve(ln) }()
	l.status.update(func(st *Status) { st.ConfigServer = l.server.String() })

	for _, n := range s.Nodes {
		v, err := l.startVM(n)
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		l.supervisors.Add(1)
		go l.supervise(n, v)
	}
	l.status.update(func(st *Status) { st.Ready = true })
	return nil
}

// stop ends the VMs (SIGTERM, then SIGKILL after qemuStopTimeout), waits
// for their supervisors, and stops the servers.
func (l *launcher) stop() {
	l.mu.Lock()
	l.stopping = true
	vms := make([]*vm, 0, len(l.vms))
	for _, v := range l.vms {
		vms = append(vms, v)
	}
	l.mu.Unlock()
	l.cancel()
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
	l.supervisors.Wait()
	if l.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = l.http.Shutdown(ctx)
		cancel()
	}
	if l.dhcp != nil {
		l.dhcp.close()
	}
}

// isStopping reports whether stop began.
func (l *launcher) isStopping() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopping
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
