package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/internal/app/machined/apply"
	"github.com/plinth-os/plinth/internal/app/machined/events"
	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/internal/runtime/inmem"
	"github.com/plinth-os/plinth/internal/supervisor"
	res "github.com/plinth-os/plinth/pkg/machinery/resource"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// fakeNode is a server.Node that records calls.
type fakeNode struct {
	resets []server.ResetOptions
	busy   error
}

func (n *fakeNode) Platform() string  { return "container" }
func (n *fakeNode) Maintenance() bool { return false }
func (n *fakeNode) Apply(_ context.Context, req apply.Request) (*apply.Result, error) {
	return &apply.Result{Mode: req.Mode, Details: "done"}, nil
}
func (n *fakeNode) Config() []byte                           { return nil }
func (n *fakeNode) Hostname(context.Context) (string, error) { return "node-1", nil }
func (n *fakeNode) Reboot(context.Context) error             { return n.busy }
func (n *fakeNode) Shutdown(context.Context, bool) error     { return n.busy }
func (n *fakeNode) Reset(_ context.Context, o server.ResetOptions) error {
	n.resets = append(n.resets, o)
	return n.busy
}

// harness serves both services over an in-memory connection.
type harness struct {
	node     *fakeNode
	sup      *supervisor.Supervisor
	state    *inmem.State
	events   *events.Ring
	machine  machine.MachineServiceClient
	resource resource.ResourceServiceClient
}

var (
	publicDef = res.Definition{Type: "Things.test.plinth.dev", DefaultNamespace: "test", Aliases: []string{"thing"}}
	secretDef = res.Definition{Type: "Secrets.test.plinth.dev", DefaultNamespace: "test", Sensitive: true}
)

type thingSpec struct {
	Value string `json:"value"`
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{node: &fakeNode{}, state: inmem.New(), events: events.New(0, nil)}
	h.sup = supervisor.New(supervisor.Options{Logger: quiet})
	reg := res.NewRegistry()
	if err := reg.Register(publicDef, secretDef); err != nil {
		t.Fatal(err)
	}
	m := server.NewMachine(server.MachineOptions{Node: h.node, Services: h.sup, Events: h.events, Logger: quiet})
	r := server.NewResources(h.state, reg, quiet)
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	server.Register(gs, m, r)
	go gs.Serve(lis) //nolint:errcheck // ends with Stop
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		gs.Stop()
		ctx := context.Background()
		_ = h.sup.StopAll(ctx)
	})
	h.machine, h.resource = machine.NewMachineServiceClient(conn), resource.NewResourceServiceClient(conn)
	return h
}

func wantCode(t *testing.T, err error, code codes.Code, contains string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(status.Convert(err).Message(), contains) {
		t.Fatalf("error = %v, want %s mentioning %q", err, code, contains)
	}
}

// drain reads a stream to its end and returns what it got.
func drain[T any](recv func() (*T, error)) ([]*T, error) {
	var out []*T
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
}
