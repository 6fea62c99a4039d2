package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/client/kubeconfig"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// fakeKube is the Kubernetes side of the fake node: etcd, containerd and
// a Kubernetes API (TLS with a throwaway Kubernetes CA) whose nodes and
// CoreDNS become ready after a few reads. The progress of each answer
// is counted per endpoint, so transcripts are deterministic.
type fakeKube struct {
	mu           sync.Mutex
	reads        map[string]int
	bootstrapped bool
	imported     map[string]int // node -> bytes of the archive
	slowStart    bool           // etcd answers "not yet" to its first reads
	api          *httptest.Server
	kubeconfig   []byte
	caPEM        []byte
}

// startFakeKube starts the fake Kubernetes API and issues its kubeconfig,
// both from the Kubernetes CA of the shared test secrets (those fake
// clusters are created with).
func startFakeKube(t *testing.T) *fakeKube {
	t.Helper()
	ca := &sharedFakePKI(t).Bundle.Certs.K8s
	issuer, err := pki.ParseCA(ca)
	if err != nil {
		t.Fatal(err)
	}
	serving, err := issuer.Issue(pki.CertOptions{Subject: pki.Subject{CommonName: "kube-apiserver", IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}},
		Usage: pki.UsageServer, Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := issuer.Issue(pki.CertOptions{Subject: pki.Subject{CommonName: "admin", Organization: []string{"system:masters"}},
		Usage: pki.UsageClient, Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	k := &fakeKube{reads: map[string]int{}, imported: map[string]int{}, caPEM: ca.Crt}
	k.api = httptest.NewUnstartedServer(http.HandlerFunc(k.serveAPI))
	cert, err := tls.X509KeyPair(serving.Crt, serving.Key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.Crt)
	k.api.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	k.api.StartTLS()
	t.Cleanup(k.api.Close)
	if k.kubeconfig, err = kubeconfig.NewAdmin("demo", k.api.URL, ca.Crt, admin.Crt, admin.Key).Bytes(); err != nil {
		t.Fatal(err)
	}
	return k
}

// next counts a read of what and returns how many came before.
func (k *fakeKube) next(what string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := k.reads[what]
	k.reads[what]++
	return n
}

// serveAPI answers /version, the nodes (10.5.0.3 appears on the second
// read, Ready from the fourth) and the coredns Deployment (missing, then 1 of 2, then 2).
func (k *fakeKube) serveAPI(w http.ResponseWriter, r *http.Request) {
	if len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.Organization[0] != "system:masters" {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	node := func(name, ip, ready string) map[string]any {
		return map[string]any{
			"metadata": map[string]any{"name": name},
			"status": map[string]any{
				"addresses":  []map[string]string{{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}},
				"conditions": []map[string]string{{"type": "Ready", "status": ready, "reason": "KubeletNotReady", "message": "cni plugin not initialized"}},
			},
		}
	}
	switch r.URL.Path {
	case "/version":
		reply(map[string]string{"gitVersion": "v1.37.2"})
	case "/api/v1/nodes":
		items := []any{node("demo-controlplane-1", "10.5.0.2", "True")}
		switch n := k.next("nodes"); {
		case n == 0:
		case n <= 2:
			items = append(items, node("demo-worker-1", "10.5.0.3", "False"), node("demo-worker-2", "10.5.0.4", "False"))
		default:
			items = append(items, node("demo-worker-1", "10.5.0.3", "True"), node("demo-worker-2", "10.5.0.4", "True"))
		}
		reply(map[string]any{"items": items})
	case "/apis/apps/v1/namespaces/kube-system/deployments/coredns":
		switch k.next("coredns") {
		case 0:
			w.WriteHeader(http.StatusNotFound)
			reply(map[string]string{"kind": "Status", "message": `deployments.apps "coredns" not found`})
		case 1:
			reply(map[string]any{"spec": map[string]int{"replicas": 2}, "status": map[string]int{"readyReplicas": 1}})
		default:
			reply(map[string]any{"spec": map[string]int{"replicas": 2}, "status": map[string]int{"readyReplicas": 2}})
		}
	default:
		http.NotFound(w, r)
	}
}

// kubeOf returns the fake node's Kubernetes side.
func (m *fakeMachine) kube() *fakeKube {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	if m.f.kube == nil {
		panic("the test did not start the fake Kubernetes (useKube)")
	}
	return m.f.kube
}

func (m *fakeMachine) Bootstrap(ctx context.Context, req *machine.BootstrapRequest) (*machine.BootstrapResponse, error) {
	m.f.record(ctx, "Bootstrap", req)
	k := m.kube()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.bootstrapped {
		return nil, status.Error(codes.FailedPrecondition, "etcd is already bootstrapped on this node")
	}
	k.bootstrapped = true
	return &machine.BootstrapResponse{Messages: []*machine.Bootstrap{{}}}, nil
}

// notYet reports, with slowStart, the first read of what: the answer
// then says the node is not there yet.
func (m *fakeMachine) notYet(what string) bool {
	k := m.kube()
	k.mu.Lock()
	slow := k.slowStart
	k.mu.Unlock()
	return slow && k.next(what) == 0
}

func (m *fakeMachine) EtcdStatus(ctx context.Context, _ *emptypb.Empty) (*machine.EtcdStatusResponse, error) {
	m.f.record(ctx, "EtcdStatus", nil)
	first := m.notYet("etcd-status")
	resp := &machine.EtcdStatusResponse{}
	m.f.eachTarget(ctx, func(node string, md *common.Metadata) {
		item := &machine.EtcdStatus{Metadata: md}
		switch {
		case md.Error != "":
		case first:
			md.Error = "FailedPrecondition: etcd is not running on this node"
		default:
			item.MemberStatus = &machine.EtcdMemberStatus{MemberId: 0x8e9e05c52164694d, ProtocolVersion: "3.7.3", DbSize: 20 << 20,
				DbSizeInUse: 5 << 20, Leader: 0x8e9e05c52164694d, RaftIndex: 1234, RaftTerm: 2, RaftAppliedIndex: 1234}
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}

func (m *fakeMachine) EtcdMemberList(ctx context.Context, req *machine.EtcdMemberListRequest) (*machine.EtcdMemberListResponse, error) {
	m.f.record(ctx, "EtcdMemberList", req)
	first := m.notYet("etcd-members")
	resp := &machine.EtcdMemberListResponse{}
	m.f.eachTarget(ctx, func(_ string, md *common.Metadata) {
		item := &machine.EtcdMembers{Metadata: md}
		if md.Error == "" {
			item.Members = []*machine.EtcdMember{{Id: 0x8e9e05c52164694d, Hostname: "demo-controlplane-1", PeerUrls: []string{"https://10.5.0.2:2380"},
				ClientUrls: []string{"https://10.5.0.2:2379"}, IsLearner: first}}
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}

// fakeSnapshot is a bbolt-like file: its meta page carries bbolt's magic.
func fakeSnapshot(n int) []byte {
	b := make([]byte, n)
	binary.LittleEndian.PutUint32(b[16:], 0xED0CDAED)
	return b
}

func (m *fakeMachine) EtcdSnapshot(req *machine.EtcdSnapshotRequest, ss grpc.ServerStreamingServer[common.Data]) error {
	m.f.record(ss.Context(), "EtcdSnapshot", req)
	return m.sendData(ss, func(node string) []string {
		if node == "10.5.0.4" {
			return []string{"<html>not a database</html>"}
		}
		snap := fakeSnapshot(96 << 10)
		return []string{string(snap[:10]), string(snap[10:])}
	})
}

func (m *fakeMachine) EtcdRemoveMember(ctx context.Context, req *machine.EtcdRemoveMemberRequest) (*machine.EtcdRemoveMemberResponse, error) {
	m.f.record(ctx, "EtcdRemoveMember", req)
	if req.GetMemberId() != 0x8e9e05c52164694d {
		return nil, status.Errorf(codes.NotFound, "etcd has no member %x", req.GetMemberId())
	}
	return &machine.EtcdRemoveMemberResponse{Messages: []*machine.EtcdRemoveMember{{}}}, nil
}

func (m *fakeMachine) EtcdLeaveCluster(ctx context.Context, req *machine.EtcdLeaveClusterRequest) (*machine.EtcdLeaveClusterResponse, error) {
	m.f.record(ctx, "EtcdLeaveCluster", req)
	return nil, status.Error(codes.FailedPrecondition, "this node holds etcd's only member: leaving would destroy the cluster's data")
}

func (m *fakeMachine) EtcdDefragment(ctx context.Context, _ *emptypb.Empty) (*machine.EtcdDefragmentResponse, error) {
	m.f.record(ctx, "EtcdDefragment", nil)
	for _, node := range incomingTargets(ctx) {
		if msg := m.f.failing[node]; msg != "" {
			return nil, status.Error(codes.Unavailable, msg)
		}
	}
	return &machine.EtcdDefragmentResponse{Messages: []*machine.EtcdDefragment{{}}}, nil
}

func (m *fakeMachine) ImageList(ctx context.Context, req *machine.ImageListRequest) (*machine.ImageListResponse, error) {
	m.f.record(ctx, "ImageList", req)
	resp := &machine.ImageListResponse{}
	m.f.eachTarget(ctx, func(_ string, md *common.Metadata) {
		item := &machine.ImageList{Metadata: md}
		if md.Error == "" {
			item.Images = []*machine.ImageInfo{
				{Name: "docker.io/coredns/coredns:1.15.0", Digest: "sha256:c028718a1099aaaabbbbccccddddeeeeffff", Size: 21 << 20, CreatedAt: at(-24 * time.Hour)},
				{Name: "registry.k8s.io/pause:3.10", Digest: "sha256:d39af1686413aaaabbbbccccddddeeeeffff", Size: 312 << 10, CreatedAt: at(-24 * time.Hour)},
			}
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}

func (m *fakeMachine) ImageImport(ss grpc.ClientStreamingServer[machine.ImageImportRequest, machine.ImageImportResponse]) error {
	nodes := incomingTargets(ss.Context())
	first, err := ss.Recv()
	if err != nil {
		return err
	}
	m.f.record(ss.Context(), "ImageImport", first)
	if msg := m.f.failing[nodes[0]]; msg != "" {
		return status.Error(codes.Unavailable, msg)
	}
	size := 0
	for {
		msg, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		size += len(msg.GetChunk().GetBytes())
	}
	k := m.kube()
	k.mu.Lock()
	k.imported[nodes[0]] = size
	k.mu.Unlock()
	return ss.SendAndClose(&machine.ImageImportResponse{Messages: []*machine.ImageImport{{Images: []*machine.ImageInfo{
		{Name: "docker.io/library/hello:v1", Digest: "sha256:0123456789abcdef0123", Size: int64(size)},
	}}}})
}

func (m *fakeMachine) Containers(ctx context.Context, req *machine.ContainersRequest) (*machine.ContainersResponse, error) {
	m.f.record(ctx, "Containers", req)
	resp := &machine.ContainersResponse{}
	cri := req.GetDriver() == common.ContainerDriver_CRI
	m.f.eachTarget(ctx, func(_ string, md *common.Metadata) {
		item := &machine.Containers{Metadata: md}
		if md.Error == "" {
			sandbox := &machine.ContainerInfo{Namespace: "k8s.io", Id: "4f1c2d9e8a7b", Image: "registry.k8s.io/pause:3.10", Pid: 2101, Status: "RUNNING"}
			ctr := &machine.ContainerInfo{Namespace: "k8s.io", Id: "9a8b7c6d5e4f", Image: "docker.io/coredns/coredns:1.15.0", Pid: 2154, Status: "RUNNING", RestartCount: 1}
			if cri {
				sandbox.Id, sandbox.PodId, sandbox.Sandbox = "kube-system/coredns-6d4b75cb6d-x2x7q", "kube-system/coredns-6d4b75cb6d-x2x7q", true
				ctr.Id, ctr.PodId, ctr.Name = "kube-system/coredns-6d4b75cb6d-x2x7q/coredns", "kube-system/coredns-6d4b75cb6d-x2x7q", "coredns"
			}
			item.Containers = []*machine.ContainerInfo{sandbox, ctr}
		}
		resp.Messages = append(resp.Messages, item)
	})
	return resp, nil
}

func (m *fakeMachine) Kubeconfig(_ *emptypb.Empty, ss grpc.ServerStreamingServer[common.Data]) error {
	m.f.record(ss.Context(), "Kubeconfig", nil)
	if incomingTargets(ss.Context())[0] == "10.5.0.3" {
		return status.Error(codes.FailedPrecondition, "kubeconfig is served by control planes: this node is a worker (its config has no Kubernetes CA key); ask a control plane with -n")
	}
	data := m.kube().kubeconfig
	return m.sendData(ss, func(string) []string { return []string{string(data[:100]), string(data[100:])} })
}

// useKube starts the fake node's Kubernetes side.
func (f *fakeNode) useKube(t *testing.T) *fakeKube {
	t.Helper()
	k := startFakeKube(t)
	f.mu.Lock()
	f.kube = k
	f.mu.Unlock()
	return k
}

// String names the fake API for scrubbing.
func (k *fakeKube) String() string { return fmt.Sprintf("fake Kubernetes API at %s", k.api.URL) }
