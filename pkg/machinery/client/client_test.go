package client_test

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/client"
	"github.com/plinth-os/plinth/pkg/machinery/client/clienttest"
	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// versionServer answers Version with one item per node of the "nodes"
// metadata (node "bad" fails), and records the metadata it got.
type versionServer struct {
	machine.UnimplementedMachineServiceServer

	mu  sync.Mutex
	got []metadata.MD
}

func (s *versionServer) Version(ctx context.Context, _ *emptypb.Empty) (*machine.VersionResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	s.got = append(s.got, md)
	s.mu.Unlock()
	nodes := md.Get(constants.NodesMetadataKey)
	if len(nodes) == 0 {
		nodes = md.Get(constants.NodeMetadataKey)
	}
	if len(nodes) == 0 {
		nodes = []string{""} // the endpoint itself
	}
	resp := &machine.VersionResponse{}
	for _, n := range nodes {
		v := &machine.Version{Metadata: &common.Metadata{Node: n}, Version: &machine.VersionInfo{Tag: "v1.0.0"}}
		if n == "bad" {
			v = &machine.Version{Metadata: &common.Metadata{Node: n, Error: "connection refused"}}
		}
		resp.Messages = append(resp.Messages, v)
	}
	return resp, nil
}

func (s *versionServer) last() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[len(s.got)-1]
}

var (
	pkiOnce sync.Once
	testPKI *clienttest.PKI
	pkiErr  error
)

func sharedPKI(t *testing.T) *clienttest.PKI {
	t.Helper()
	pkiOnce.Do(func() { testPKI, pkiErr = clienttest.NewPKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return testPKI
}

func startNode(t *testing.T) (*clienttest.Node, *versionServer, *clienttest.PKI) {
	t.Helper()
	p := sharedPKI(t)
	cfg, err := p.ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	vs := &versionServer{}
	n := clienttest.Start(t, cfg, func(s *grpc.Server) { machine.RegisterMachineServiceServer(s, vs) })
	return n, vs, p
}

func newClient(t *testing.T, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}

func TestFanOut(t *testing.T) {
	n, vs, p := startNode(t)
	c := newClient(t, client.WithContext(p.Context(nil, n.Addr)))
	ctx := client.WithNodes(t.Context(), "10.5.0.2", "bad", "10.5.0.3")
	resp, err := c.Machine.Version(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if got := vs.last().Get(constants.NodesMetadataKey); !slices.Equal(got, []string{"10.5.0.2", "bad", "10.5.0.3"}) {
		t.Errorf("nodes metadata = %q", got)
	}
	ok, errs := client.Items(resp.GetMessages())
	if len(ok) != 2 || ok[0].GetMetadata().GetNode() != "10.5.0.2" || ok[1].GetMetadata().GetNode() != "10.5.0.3" {
		t.Errorf("ok items = %v", ok)
	}
	if len(errs) != 1 || errs[0].Error() != "node bad: connection refused" {
		t.Errorf("errors = %v", errs)
	}

	// WithNode replaces the fan-out target.
	if _, err := c.Machine.Version(client.WithNode(ctx, "10.5.0.4"), &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	md := vs.last()
	if md.Get(constants.NodesMetadataKey) != nil || !slices.Equal(md.Get(constants.NodeMetadataKey), []string{"10.5.0.4"}) {
		t.Errorf("metadata after WithNode = %v", md)
	}
}

func TestNodeName(t *testing.T) {
	n, _, p := startNode(t)
	one := newClient(t, client.WithContext(p.Context(nil, n.Addr)))
	two := newClient(t, client.WithContext(p.Context(nil, n.Addr, "10.0.0.1")))
	host, _, _ := net.SplitHostPort(n.Addr)
	tests := []struct {
		c    *client.Client
		md   *common.Metadata
		want string
	}{
		{one, &common.Metadata{Node: "n1"}, "n1"},
		{one, nil, host},
		{two, &common.Metadata{}, client.LocalNode},
	}
	for _, tt := range tests {
		if got := tt.c.NodeName(tt.md); got != tt.want {
			t.Errorf("NodeName(%v) = %q, want %q", tt.md, got, tt.want)
		}
	}
	if got := client.NodeName(nil); got != client.LocalNode {
		t.Errorf("client.NodeName(nil) = %q", got)
	}
}

func TestFirstEndpointThatAnswers(t *testing.T) {
	n, _, p := startNode(t)
	c := newClient(t, client.WithContext(p.Context(nil, "10.9.9.9")), client.WithEndpoints(closedPort(t), n.Addr))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := c.Machine.Version(ctx, &emptypb.Empty{}); err != nil {
		t.Fatalf("Version through the second endpoint: %v", err)
	}
	if eps := c.Endpoints(); len(eps) != 2 || eps[1] != n.Addr {
		t.Errorf("Endpoints() = %q", eps)
	}
}

func TestTLSFailures(t *testing.T) {
	n, _, _ := startNode(t)
	other, err := clienttest.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts []client.Option
	}{
		{"other CA", []client.Option{client.WithContext(other.Context(nil, n.Addr))}},
		{"no client certificate", []client.Option{client.WithMaintenance(""), client.WithEndpoints(n.Addr)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.opts...)
			if _, err := c.Machine.Version(t.Context(), &emptypb.Empty{}); err == nil {
				t.Error("Version succeeded")
			}
		})
	}
}

func TestMaintenance(t *testing.T) {
	vs := &versionServer{}
	n, fp := clienttest.StartMaintenance(t, func(s *grpc.Server) { machine.RegisterMachineServiceServer(s, vs) })
	wrong := strings.Repeat("00:", 31) + "00"
	tests := []struct {
		name    string
		opts    []client.Option
		wantErr string
	}{
		{name: "fingerprint", opts: []client.Option{client.WithMaintenance(fp)}},
		{name: "fingerprint lower case without colons", opts: []client.Option{
			client.WithMaintenance(strings.ToLower(strings.ReplaceAll(fp, ":", "")))}},
		{name: "any certificate", opts: []client.Option{client.WithMaintenance("")}},
		{name: "wrong fingerprint", opts: []client.Option{client.WithMaintenance(wrong)},
			wantErr: "does not match the expected 00:00"},
		{name: "CA verification", opts: []client.Option{client.WithContext(sharedPKI(t).Context(nil))},
			wantErr: "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, append(tt.opts, client.WithEndpoints(n.Addr))...)
			_, err := c.Machine.Version(t.Context(), &emptypb.Empty{})
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Version: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Version error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	p := sharedPKI(t)
	tests := []struct {
		name    string
		opts    []client.Option
		wantErr string
	}{
		{"nothing", nil, "no endpoints"},
		{"no context", []client.Option{client.WithEndpoints("10.5.0.2")}, "no client context"},
		{"bad endpoint", []client.Option{client.WithContext(p.Context(nil, "https://x"))}, `endpoint "https://x": a URL`},
		{"bad fingerprint", []client.Option{client.WithMaintenance("xyz"), client.WithEndpoints("10.5.0.2")}, "64 hex digits"},
		{"bad CA", []client.Option{client.WithContext(&clientconfig.Context{Endpoints: []string{"a"}, CA: "eA=="})}, "client context: ca:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(t.Context(), tt.opts...)
			if err == nil {
				_ = c.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := client.New(ctx, client.WithContext(p.Context(nil, "a"))); err == nil {
		t.Error("New with a cancelled context succeeded")
	}
}

func TestFromFlags(t *testing.T) {
	n, vs, p := startNode(t)
	path := filepath.Join(t.TempDir(), "config")
	demo := p.Context(nil, closedPort(t))
	demo.Nodes = []string{"10.5.0.2", "10.5.0.3"}
	cfg := &clientconfig.Config{Context: "demo", Contexts: map[string]*clientconfig.Context{
		"demo": demo,
		"live": p.Context(nil, n.Addr),
	}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}

	c, nodes, err := client.FromFlags(t.Context(), path, "", []string{n.Addr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close() //nolint:errcheck // test
	if !slices.Equal(nodes, demo.Nodes) {
		t.Errorf("nodes = %q, want the context's", nodes)
	}
	if _, err := c.Machine.Version(client.WithNodes(t.Context(), nodes...), &emptypb.Empty{}); err != nil {
		t.Fatalf("Version through -e: %v", err)
	}

	c2, nodes, err := client.FromFlags(t.Context(), path, "live", nil, []string{"10.5.0.9"})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close() //nolint:errcheck // test
	if !slices.Equal(nodes, []string{"10.5.0.9"}) {
		t.Errorf("nodes = %q, want -n", nodes)
	}
	if _, err := c2.Machine.Version(t.Context(), &emptypb.Empty{}); err != nil {
		t.Fatalf("Version through --context live: %v", err)
	}
	if md := vs.last(); md.Get(constants.NodesMetadataKey) != nil {
		t.Errorf("a call without nodes sent %v", md)
	}

	if _, _, err := client.FromFlags(t.Context(), path, "nope", nil, nil); err == nil || !strings.Contains(err.Error(), `context "nope" not found`) {
		t.Errorf("unknown context: %v", err)
	}
	empty := &clientconfig.Config{Context: "x", Contexts: map[string]*clientconfig.Context{"x": {}}}
	if err := empty.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.FromFlags(t.Context(), path, "", nil, nil); err == nil || !strings.Contains(err.Error(), `context "x": new client: no endpoints`) {
		t.Errorf("no endpoints: %v", err)
	}
}

func TestReconnectAfterRestart(t *testing.T) {
	n, _, p := startNode(t)
	c := newClient(t, client.WithContext(p.Context(nil, n.Addr)))
	if _, err := c.Machine.Version(t.Context(), &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	n.Stop()
	if _, err := c.Machine.Version(t.Context(), &emptypb.Empty{}); err == nil {
		t.Fatal("Version succeeded on a stopped node")
	}
	if err := n.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.ResetConnectBackoff()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		_, err := c.Machine.Version(ctx, &emptypb.Empty{})
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer after the restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
