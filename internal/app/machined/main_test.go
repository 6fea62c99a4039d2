package machined_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/plinth-os/plinth/internal/app/machined"
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
)

// timeout bounds every wait; nothing asserts on elapsed time.
const timeout = 60 * time.Second

// plinthBinary is cmd/plinth, built once for the tests' services.
var plinthBinary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "plinth-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	plinthBinary = filepath.Join(dir, "plinth")
	cmd := exec.Command("go", "build", "-o", plinthBinary, "github.com/plinth-os/plinth/cmd/plinth")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build cmd/plinth: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return code
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fakePower records power actions instead of taking them.
type fakePower struct {
	mu      sync.Mutex
	actions []string
	wake    chan struct{}
	// hold, when set, blocks each action until it is closed.
	hold chan struct{}
}

func newFakePower() *fakePower { return &fakePower{wake: make(chan struct{}, 16)} }

func (p *fakePower) record(a string) error {
	p.mu.Lock()
	p.actions = append(p.actions, a)
	hold := p.hold
	p.mu.Unlock()
	p.wake <- struct{}{}
	if hold != nil {
		<-hold
	}
	return nil
}

// waitAction waits for the next power action and returns it.
func (p *fakePower) waitAction(t *testing.T) string {
	t.Helper()
	select {
	case <-p.wake:
	case <-time.After(timeout):
		t.Fatal("no power action")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.actions[len(p.actions)-1]
}

func (p *fakePower) Reboot(context.Context) error   { return p.record("reboot") }
func (p *fakePower) Shutdown(context.Context) error { return p.record("shutdown") }

// node is a machined running in-process on a temp root.
type node struct {
	root        string
	power       *fakePower
	logs        *syncBuffer
	console     *syncBuffer
	maintenance chan maintenanceInfo
	cancel      context.CancelFunc
	done        chan error
}

type maintenanceInfo struct {
	addr        net.Addr
	fingerprint string
}

// startNode runs machined on a new root until the test ends.
func startNode(t testing.TB, withServices bool) *node {
	t.Helper()
	// A short root keeps the socket path under the 108-byte limit.
	root, err := os.MkdirTemp("", "pn-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	return startNodeAt(t, root, withServices)
}

// startNodeAt runs machined on root until the test ends.
func startNodeAt(t testing.TB, root string, withServices bool) *node {
	t.Helper()
	n := &node{
		root: root, power: newFakePower(), logs: &syncBuffer{}, console: &syncBuffer{},
		maintenance: make(chan maintenanceInfo, 4), done: make(chan error, 1),
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	opts := machined.Options{
		Root: root, Mode: validation.ModeContainer, MaintenanceListen: "127.0.0.1:0",
		Binary: plinthBinary, Power: n.power, Console: n.console,
		Logger:          slog.New(slog.NewTextHandler(n.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		DisableServices: !withServices,
		ServiceArgs: map[string][]string{
			"apid": {"--listen", "127.0.0.1:0"}, "trustd": {"--listen", "127.0.0.1:0"},
		},
		Addresses: func() ([]netip.Prefix, error) { return []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}, nil },
		OnMaintenance: func(addr net.Addr, fp string) {
			n.maintenance <- maintenanceInfo{addr: addr, fingerprint: fp}
		},
	}
	go func() { n.done <- machined.Run(ctx, opts) }()
	t.Cleanup(func() {
		n.stop(t)
		if t.Failed() {
			t.Logf("machined log:\n%s", n.logs.String())
		}
	})
	return n
}

// stop cancels machined and waits for Run to return (once).
func (n *node) stop(t testing.TB) {
	n.cancel()
	select {
	case err, ok := <-n.done:
		if ok && err != nil {
			t.Errorf("Run = %v", err)
		}
		close(n.done)
	case <-time.After(timeout):
		t.Errorf("machined did not stop")
	}
}

func (n *node) waitMaintenance(t testing.TB) maintenanceInfo {
	t.Helper()
	select {
	case info := <-n.maintenance:
		return info
	case <-time.After(timeout):
		t.Fatalf("no maintenance mode; log:\n%s", n.logs.String())
	}
	return maintenanceInfo{}
}

// dialMaintenance connects over TLS, pinning the certificate fingerprint.
func dialMaintenance(t testing.TB, info maintenanceInfo) *grpc.ClientConn {
	t.Helper()
	tlsConf := &tls.Config{
		InsecureSkipVerify: true, //nolint:gosec // the fingerprint is checked below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("no certificate")
			}
			fp, err := pki.Fingerprint(raw[0])
			if err != nil || fp != info.fingerprint {
				return fmt.Errorf("fingerprint %s, want %s", fp, info.fingerprint)
			}
			return nil
		},
	}
	conn, err := grpc.NewClient(info.addr.String(), grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// dialSocket connects to machined's Unix socket.
func dialSocket(t testing.TB, root string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+filepath.Join(root, constants.MachinedSocket),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

var (
	bundleOnce sync.Once
	bundle     *secrets.Bundle
)

// generated returns a generated config of machine type typ.
func generated(t testing.TB, typ string) []byte {
	t.Helper()
	bundleOnce.Do(func() {
		var err error
		if bundle, err = secrets.NewBundle(); err != nil {
			panic(err)
		}
	})
	in := generate.Input{ClusterName: "demo", Endpoint: "https://127.0.0.1:6443", Secrets: bundle}
	cfg, err := in.Config(typ)
	if err != nil {
		t.Fatal(err)
	}
	data, err := cfg.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(data); err != nil {
		t.Fatal(err)
	}
	return data
}

// eventually polls check until it returns nil or the timeout passes.
func eventually(t testing.TB, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = check(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}
