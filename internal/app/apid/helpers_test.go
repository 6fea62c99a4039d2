package apid

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/apid/certs/certstest"
	"github.com/plinth-os/plinth/internal/app/apid/proxy"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// seenCall is a call the fake machined received.
type seenCall struct {
	method string
	roles  []string
	md     metadata.MD
}

// fakeMachined is a gRPC server on a Unix socket that records the calls
// apid forwards. It answers Version and Hostname with its name, streams
// one message for streaming RPCs, and an empty response otherwise.
type fakeMachined struct {
	name   string
	socket string

	mu    sync.Mutex
	calls []seenCall
}

func startMachined(t testing.TB, name string) *fakeMachined {
	t.Helper()
	// Unix socket paths are short: not under t.TempDir's long name.
	dir, err := os.MkdirTemp("", "apid")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &fakeMachined{name: name, socket: filepath.Join(dir, "machined.sock")}
	lis, err := net.Listen("unix", m.socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(proxy.Codec{}), grpc.UnknownServiceHandler(m.handle))
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(lis) //nolint:errcheck // ends at Stop
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return m
}

func (m *fakeMachined) handle(_ any, ss grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(ss)
	md, _ := metadata.FromIncomingContext(ss.Context())
	m.mu.Lock()
	m.calls = append(m.calls, seenCall{method: method, roles: md.Get(constants.RolesMetadataKey), md: md})
	m.mu.Unlock()
	var req proxy.Frame
	if err := ss.RecvMsg(&req); err != nil {
		return err
	}
	switch method {
	case machine.MachineService_Version_FullMethodName:
		return ss.SendMsg(&machine.VersionResponse{Messages: []*machine.Version{{Version: &machine.VersionInfo{Tag: m.name}}}})
	case machine.MachineService_Hostname_FullMethodName:
		return ss.SendMsg(&machine.HostnameResponse{Messages: []*machine.Hostname{{Hostname: m.name}}})
	case machine.MachineService_Logs_FullMethodName:
		return ss.SendMsg(&common.Data{Bytes: []byte(m.name)})
	}
	// Any other RPC: one empty message, a valid encoding of every type.
	return ss.SendMsg(&proxy.Frame{})
}

// received returns and forgets the calls received so far.
func (m *fakeMachined) received() []seenCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.calls
	m.calls = nil
	return out
}

// node is a running apid in front of a fake machined.
type node struct {
	addr     string
	machined *fakeMachined
	certDir  string
}

// startNode runs apid on a loopback port with certificates of ca, in
// front of a new fake machined named name.
func startNode(t testing.TB, ca *certstest.CA, name string) *node {
	t.Helper()
	n := &node{machined: startMachined(t, name), certDir: t.TempDir()}
	ca.WriteNodeDir(t, n.certDir)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.addr = lis.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Listener: lis, CertDir: n.certDir, MachinedSocket: n.machined.socket, Logger: discard})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("apid Run: %v", err)
		}
	})
	return n
}

// dial returns a client connection to addr over TLS with cfg.
func dial(t testing.TB, addr string, cfg *tls.Config) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// callRaw calls method with an empty request, as a stream of the method's
// kind, and returns the call's error (nil when it ended well).
func callRaw(ctx context.Context, conn *grpc.ClientConn, method string) error {
	kind, err := proxy.MethodKind(method)
	if err != nil {
		return err
	}
	desc := &grpc.StreamDesc{ServerStreams: kind == proxy.ServerStream}
	s, err := conn.NewStream(ctx, desc, method, grpc.ForceCodecV2(proxy.Codec{}))
	if err != nil {
		return err
	}
	if err := s.SendMsg(&proxy.Frame{}); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	for {
		var f proxy.Frame
		if err := s.RecvMsg(&f); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// callTimeout bounds each test call; generous, never asserted.
const callTimeout = 30 * time.Second

// codeOf returns the gRPC code of err.
func codeOf(err error) codes.Code { return status.Code(err) }

// sameRoles reports whether got lists exactly want.
func sameRoles(got []string, want ...string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}
