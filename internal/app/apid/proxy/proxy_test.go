package proxy

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/role"
)

var reader = role.MakeSet(role.Reader)

func TestTargets(t *testing.T) {
	tests := []struct {
		name    string
		md      metadata.MD
		node    string
		nodes   []string
		wantErr string
	}{
		{name: "none", md: metadata.MD{}},
		{name: "node", md: metadata.Pairs("node", " 10.0.0.1 "), node: "10.0.0.1"},
		{name: "nodes comma separated and repeated", md: metadata.Pairs("nodes", "a, b", "nodes", "c,a"), nodes: []string{"a", "b", "c"}},
		{name: "both", md: metadata.Pairs("node", "a", "nodes", "b"), wantErr: "not both"},
		{name: "two nodes in node", md: metadata.Pairs("node", "a", "node", "b"), wantErr: "use \"nodes\""},
		{name: "empty node", md: metadata.Pairs("node", ""), wantErr: "is empty"},
		{name: "empty entry", md: metadata.Pairs("nodes", "a,,b"), wantErr: "empty entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node, nodes, err := targets(tt.md)
			if tt.wantErr != "" {
				if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want InvalidArgument containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || node != tt.node || !slices.Equal(nodes, tt.nodes) {
				t.Errorf("targets = %q, %q, %v; want %q, %q", node, nodes, err, tt.node, tt.nodes)
			}
		})
	}
}

func TestOutgoingMetadata(t *testing.T) {
	in := metadata.Pairs("nodes", "a", "node", "b", constants.RolesMetadataKey, "os:admin", "x-request-id", "42", ":authority", "apid")
	out := outgoingMetadata(in, reader)
	want := metadata.Pairs(constants.RolesMetadataKey, "os:reader", "x-request-id", "42")
	if len(out) != len(want) || !slices.Equal(out.Get(constants.RolesMetadataKey), []string{"os:reader"}) || out.Get("x-request-id")[0] != "42" {
		t.Errorf("outgoing metadata = %v, want %v", out, want)
	}
	if len(in.Get("nodes")) != 1 {
		t.Error("incoming metadata was modified")
	}
}

// assertForwarded checks that node received exactly methods, each with the
// caller's roles and without routing metadata.
func assertForwarded(t *testing.T, n *fakeNode, methods ...string) {
	t.Helper()
	got := n.received()
	if len(got) != len(methods) {
		t.Fatalf("node %s received %d calls, want %d (%q)", n.name, len(got), len(methods), methods)
	}
	for i, c := range got {
		if c.method != methods[i] {
			t.Errorf("node %s call %d = %s, want %s", n.name, i, c.method, methods[i])
		}
		if r := c.md.Get(constants.RolesMetadataKey); !slices.Equal(r, reader.Strings()) {
			t.Errorf("node %s saw roles %q, want %q", n.name, r, reader.Strings())
		}
		if len(c.md.Get("nodes")) > 0 || len(c.md.Get("node")) > 0 {
			t.Errorf("node %s saw routing metadata: %v", n.name, c.md)
		}
	}
}

func TestLocalUnaryUnchanged(t *testing.T) {
	b := fakeBackends{"local": startNode(t, "local")}
	c := front(t, b, reader, true)
	var header, trailer metadata.MD
	resp, err := c.Hostname(withMD(t, constants.RolesMetadataKey, "os:admin"), &emptypb.Empty{}, grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	want := &machine.HostnameResponse{Messages: []*machine.Hostname{{Hostname: "local"}}}
	if !protoEqual(resp, want) {
		t.Errorf("response = %v, want %v (untagged)", resp, want)
	}
	if header.Get("x-node")[0] != "local" || trailer.Get("x-node-trailer")[0] != "local" {
		t.Errorf("header %v / trailer %v not forwarded", header, trailer)
	}
	assertForwarded(t, b["local"], machine.MachineService_Hostname_FullMethodName)
}

func TestLocalErrorPassedThrough(t *testing.T) {
	b := fakeBackends{"local": startNode(t, "local")}
	_, err := front(t, b, reader, true).Memory(t.Context(), &emptypb.Empty{})
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "fake node") {
		t.Errorf("error = %v, want the backend's Unimplemented", err)
	}
}

func TestLocalStream(t *testing.T) {
	b := fakeBackends{"local": startNode(t, "local")}
	s, err := front(t, b, reader, true).Logs(t.Context(), &machine.LogsRequest{Id: "kubelet"})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := readAll(s)
	if err != nil || len(msgs) != 3 || string(msgs[2].Bytes) != "local-2" || msgs[0].Metadata != nil {
		t.Errorf("stream = %v, %v", msgs, err)
	}
}

func TestNodeTagsResponses(t *testing.T) {
	b := fakeBackends{"local": startNode(t, "local"), "10.0.0.2": startNode(t, "n2")}
	c := front(t, b, reader, true)
	ctx := withMD(t, "node", "10.0.0.2")
	resp, err := c.Hostname(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	want := &machine.HostnameResponse{Messages: []*machine.Hostname{{Metadata: &common.Metadata{Node: "10.0.0.2"}, Hostname: "n2"}}}
	if !protoEqual(resp, want) {
		t.Errorf("response = %v, want %v", resp, want)
	}
	s, err := c.Logs(ctx, &machine.LogsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := readAll(s)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("stream = %v, %v", msgs, err)
	}
	for _, m := range msgs {
		if m.Metadata.GetNode() != "10.0.0.2" {
			t.Errorf("message %v not tagged", m)
		}
	}
	assertForwarded(t, b["10.0.0.2"], machine.MachineService_Hostname_FullMethodName, machine.MachineService_Logs_FullMethodName)
	assertForwarded(t, b["local"])
}

func TestProxiedCallsDoNotHopAgain(t *testing.T) {
	b := fakeBackends{"local": startNode(t, "local"), "n2": startNode(t, "n2")}
	if _, err := front(t, b, reader, false).Hostname(withMD(t, "nodes", "n2,n2"), &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	assertForwarded(t, b["local"], machine.MachineService_Hostname_FullMethodName)
	assertForwarded(t, b["n2"])
}

func TestFanOutUnary(t *testing.T) {
	b := fakeBackends{"local": startNode(t, "local"), "a": startNode(t, "a"), "b": startNode(t, "b"), "c": startNode(t, "down")}
	c := front(t, b, reader, true)
	resp, err := c.Hostname(withMD(t, "nodes", "a,c,b,unknown"), &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Messages) != 4 {
		t.Fatalf("response = %v, want 4 items", resp)
	}
	for i, want := range []struct{ node, hostname, err string }{
		{"a", "a", ""}, {"c", "", "Unavailable: node is down"}, {"b", "b", ""}, {"unknown", "", "no route to unknown"},
	} {
		m := resp.Messages[i]
		if m.Metadata.GetNode() != want.node || m.Hostname != want.hostname || !strings.Contains(m.Metadata.GetError(), want.err) {
			t.Errorf("item %d = %v, want node %s hostname %q error %q", i, m, want.node, want.hostname, want.err)
		}
	}
	assertForwarded(t, b["a"], machine.MachineService_Hostname_FullMethodName)
	assertForwarded(t, b["local"])
}

func TestFanOutUnaryAllFailed(t *testing.T) {
	b := fakeBackends{"local": startNode(t, "local"), "c": startNode(t, "down")}
	_, err := front(t, b, reader, true).Hostname(withMD(t, "nodes", "c,x"), &emptypb.Empty{})
	if err == nil || !strings.Contains(err.Error(), "c: ") || !strings.Contains(err.Error(), "x: ") {
		t.Errorf("error = %v, want one naming both nodes", err)
	}
}

func TestFanOutStream(t *testing.T) {
	b := fakeBackends{"local": startNode(t, "local"), "a": startNode(t, "a"), "b": startNode(t, "broken")}
	s, err := front(t, b, reader, true).Logs(withMD(t, "nodes", "a", "nodes", "b,gone"), &machine.LogsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := readAll(s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, m.Metadata.GetNode()+"|"+string(m.Bytes)+"|"+m.Metadata.GetError())
	}
	sort.Strings(got)
	want := []string{
		"a|a-0|", "a|a-1|", "a|a-2|",
		"b|broken-0|", "b||DataLoss: log file vanished",
		"gone||InvalidArgument: no route to gone",
	}
	if !slices.Equal(got, want) {
		t.Errorf("messages =\n  %q\nwant\n  %q", got, want)
	}
}

func TestFanOutRejectsClientStreams(t *testing.T) {
	b := fakeBackends{"local": startNode(t, "local"), "a": startNode(t, "a")}
	p := New(b, discard)
	_, conn := serve(t, grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(ss)
		return p.Handle(ss, Call{Method: method, Roles: reader, AllowFanOut: true})
	}))
	s, err := grpc_reflection_v1.NewServerReflectionClient(conn).ServerReflectionInfo(withMD(t, "nodes", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "bidirectional stream") {
		t.Errorf("error = %v, want InvalidArgument naming the stream kind", err)
	}
	assertForwarded(t, b["a"])
}

func TestFanOutStreamCancel(t *testing.T) {
	b := fakeBackends{"local": startNode(t, "local"), "a": startNode(t, "a"), "b": startNode(t, "b")}
	ctx, cancel := context.WithCancel(withMD(t, "nodes", "a,b"))
	s, err := front(t, b, reader, true).Events(ctx, &machine.EventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]bool{}
	for range 2 {
		ev, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		nodes[ev.Metadata.GetNode()] = true
	}
	if !nodes["a"] || !nodes["b"] {
		t.Errorf("events came from %v, want a and b", nodes)
	}
	cancel()
	if _, err := s.Recv(); status.Code(err) != codes.Canceled {
		t.Errorf("after cancel: %v", err)
	}
	// The fake nodes' endless streams end with the call; goleak checks.
	for _, n := range []*fakeNode{b["a"], b["b"]} {
		n.waitIdle(t)
	}
}
