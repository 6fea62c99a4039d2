package proxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/role"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// seen is a call a fake node received.
type seen struct {
	method string
	md     metadata.MD
}

// fakeNode is an in-memory gRPC backend standing for machined or another
// node's apid. Its behaviour depends on its name:
//
//	Hostname: replies with one item whose hostname is the node's name
//	          (header and trailer "x-node: <name>"); node "down" fails.
//	Logs:     streams "<name>-0".."<name>-2"; node "broken" fails after one.
//	Events:   sends one event and waits for the call to end.
type fakeNode struct {
	name string
	srv  *grpc.Server
	conn *grpc.ClientConn

	mu     sync.Mutex
	calls  []seen
	active sync.WaitGroup // handlers running
}

func startNode(t *testing.T, name string) *fakeNode {
	t.Helper()
	n := &fakeNode{name: name}
	n.srv, n.conn = serve(t, grpc.UnknownServiceHandler(n.handle))
	return n
}

// serve starts an in-memory server with the proxy codec and returns a
// client connection to it; both stop at the end of the test.
func serve(t *testing.T, opts ...grpc.ServerOption) (*grpc.Server, *grpc.ClientConn) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(append(opts, grpc.ForceServerCodecV2(Codec{}))...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(lis) //nolint:errcheck // ends at Stop
	}()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-done
	})
	return srv, conn
}

func (n *fakeNode) handle(_ any, ss grpc.ServerStream) error {
	n.active.Add(1)
	defer n.active.Done()
	method, _ := grpc.MethodFromServerStream(ss)
	md, _ := metadata.FromIncomingContext(ss.Context())
	n.mu.Lock()
	n.calls = append(n.calls, seen{method: method, md: md})
	n.mu.Unlock()
	var req Frame
	if err := ss.RecvMsg(&req); err != nil {
		return err
	}
	switch method {
	case machine.MachineService_Hostname_FullMethodName:
		if n.name == "down" {
			return status.Error(codes.Unavailable, "node is down")
		}
		ss.SendHeader(metadata.Pairs("x-node", n.name)) //nolint:errcheck
		ss.SetTrailer(metadata.Pairs("x-node-trailer", n.name))
		return ss.SendMsg(&machine.HostnameResponse{Messages: []*machine.Hostname{{Hostname: n.name}}})
	case machine.MachineService_Logs_FullMethodName:
		for i := range 3 {
			if i == 1 && n.name == "broken" {
				return status.Error(codes.DataLoss, "log file vanished")
			}
			if err := ss.SendMsg(&common.Data{Bytes: fmt.Appendf(nil, "%s-%d", n.name, i)}); err != nil {
				return err
			}
		}
		return nil
	case machine.MachineService_Events_FullMethodName:
		if err := ss.SendMsg(&machine.Event{Id: n.name}); err != nil {
			return err
		}
		<-ss.Context().Done()
		return ss.Context().Err()
	default:
		return status.Errorf(codes.Unimplemented, "fake node: %s", method)
	}
}

// received returns the calls the node received.
func (n *fakeNode) received() []seen {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]seen(nil), n.calls...)
}

// waitIdle waits until no handler of the node runs.
func (n *fakeNode) waitIdle(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		n.active.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s: a call is still running", n.name)
	}
}

// fakeBackends maps "local" to Local and other names to Remote.
type fakeBackends map[string]*fakeNode

func (b fakeBackends) Local() grpc.ClientConnInterface { return b["local"].conn }

func (b fakeBackends) Remote(target string) (grpc.ClientConnInterface, error) {
	n, ok := b[target]
	if !ok {
		return nil, fmt.Errorf("no route to %s", target)
	}
	return n.conn, nil
}

// front starts a proxy in front of backends that treats every call as
// authorized with roles, and returns a client of it.
func front(t *testing.T, b fakeBackends, roles role.Set, allowFanOut bool) machine.MachineServiceClient {
	t.Helper()
	p := New(b, discard)
	_, conn := serve(t, grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(ss)
		return p.Handle(ss, Call{Method: method, Roles: roles, AllowFanOut: allowFanOut})
	}))
	return machine.NewMachineServiceClient(conn)
}

// withMD returns a context with outgoing metadata kv.
func withMD(t *testing.T, kv ...string) context.Context {
	return metadata.NewOutgoingContext(t.Context(), metadata.Pairs(kv...))
}

// readAll reads a stream of Data until its end and returns the messages
// and the final error (nil at EOF).
func readAll(s interface{ Recv() (*common.Data, error) }) ([]*common.Data, error) {
	var out []*common.Data
	for {
		d, err := s.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
}

func protoEqual(a, b proto.Message) bool { return proto.Equal(a, b) }
