package apid

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/apid/certs"
	"github.com/plinth-os/plinth/internal/app/apid/certs/certstest"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/role"
)

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

// TestFanOutAcrossNodes sends one call through node A to A itself, to B
// and to a dead address, over real mutual TLS between the apids.
func TestFanOutAcrossNodes(t *testing.T) {
	ca := certstest.NewCA(t)
	a, b := startNode(t, ca, "a"), startNode(t, ca, "b")
	dead := closedAddr(t)
	client := machine.NewMachineServiceClient(dial(t, a.addr, certstest.ClientConfig(ca, ca.ClientCert(t, string(role.Reader)))))

	ctx := metadata.AppendToOutgoingContext(t.Context(), constants.NodesMetadataKey, a.addr, constants.NodesMetadataKey, b.addr+","+dead)
	resp, err := client.Version(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Messages) != 3 {
		t.Fatalf("response has %d items, want 3: %v", len(resp.Messages), resp)
	}
	for i, want := range []struct{ node, tag string }{{a.addr, "a"}, {b.addr, "b"}, {dead, ""}} {
		m := resp.Messages[i]
		if m.Metadata.GetNode() != want.node || m.Version.GetTag() != want.tag {
			t.Errorf("item %d = %v, want node %s tag %q", i, m, want.node, want.tag)
		}
	}
	if resp.Messages[2].Metadata.GetError() == "" {
		t.Errorf("dead node has no error: %v", resp.Messages[2])
	}
	for _, n := range []*node{a, b} {
		calls := n.machined.received()
		if len(calls) != 1 || !sameRoles(calls[0].roles, string(role.Reader)) {
			t.Errorf("machined %s saw %+v, want one call as reader", n.machined.name, calls)
			continue
		}
		if md := calls[0].md; len(md.Get(constants.NodesMetadataKey)) > 0 || len(md.Get(constants.NodeMetadataKey)) > 0 {
			t.Errorf("machined %s saw routing metadata %v", n.machined.name, md)
		}
	}
}

// TestNodeProxiesStream sends a server stream through A to B.
func TestNodeProxiesStream(t *testing.T) {
	ca := certstest.NewCA(t)
	a, b := startNode(t, ca, "a"), startNode(t, ca, "b")
	client := machine.NewMachineServiceClient(dial(t, a.addr, certstest.ClientConfig(ca, ca.ClientCert(t, string(role.Operator)))))

	ctx := metadata.AppendToOutgoingContext(t.Context(), constants.NodeMetadataKey, b.addr)
	s, err := client.Logs(ctx, &machine.LogsRequest{Id: "kubelet"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if string(d.Bytes) != "b" || d.Metadata.GetNode() != b.addr {
		t.Errorf("message = %v, want b's tagged with %s", d, b.addr)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Errorf("end of stream: %v", err)
	}
	if calls := b.machined.received(); len(calls) != 1 || !sameRoles(calls[0].roles, string(role.Operator)) {
		t.Errorf("machined b saw %+v", calls)
	}
	if calls := a.machined.received(); len(calls) != 0 {
		t.Errorf("machined a saw %+v, want nothing", calls)
	}
}

// TestNodeOfAnotherCARefused checks that apid does not proxy to a server
// whose certificate its CA did not sign.
func TestNodeOfAnotherCARefused(t *testing.T) {
	ca := certstest.NewCA(t)
	a, stranger := startNode(t, ca, "a"), startNode(t, certstest.NewCA(t), "stranger")
	client := machine.NewMachineServiceClient(dial(t, a.addr, certstest.ClientConfig(ca, ca.ClientCert(t, string(role.Admin)))))

	ctx := metadata.AppendToOutgoingContext(t.Context(), constants.NodeMetadataKey, stranger.addr)
	_, err := client.Version(ctx, &emptypb.Empty{})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("call to a node of another CA: %v, want a certificate error", err)
	}
	if calls := stranger.machined.received(); len(calls) != 0 {
		t.Errorf("stranger's machined saw %+v", calls)
	}
}

// TestCertificateReload renews the node's certificate files and checks
// that new connections get the new certificate.
func TestCertificateReload(t *testing.T) {
	ca := certstest.NewCA(t)
	n := startNode(t, ca, "node")
	cfg := certstest.ClientConfig(ca, ca.ClientCert(t, string(role.Reader)))
	first := serverCert(t, n.addr, cfg)

	renewed := ca.NodeCert(t)
	for name, data := range map[string][]byte{certs.CertFile: renewed.Crt, certs.KeyFile: renewed.Key} {
		tmp := filepath.Join(n.certDir, name+".new")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(n.certDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if second := serverCert(t, n.addr, cfg); second == first {
		t.Error("apid still serves the old certificate after renewal")
	}
	// The API works with the renewed certificate.
	if _, err := machine.NewMachineServiceClient(dial(t, n.addr, cfg)).Version(t.Context(), &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
}

// serverCert returns the serial of the certificate the server presents.
func serverCert(t *testing.T, addr string, cfg *tls.Config) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}
