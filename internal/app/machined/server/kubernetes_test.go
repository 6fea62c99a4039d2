package server_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net"
	"slices"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/internal/supervisor"
	"github.com/plinth-os/plinth/internal/supervisor/logs"
	"github.com/plinth-os/plinth/pkg/machinery/client/kubeconfig"
	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
)

// fakeServices is a supervisor with fixed services that records stops.
type fakeServices struct {
	running []string
	stopped []string
}

func (s *fakeServices) List() []supervisor.ServiceInfo {
	var out []supervisor.ServiceInfo
	for _, id := range s.running {
		out = append(out, supervisor.ServiceInfo{ServiceEvent: supervisor.ServiceEvent{ID: id, State: supervisor.Running}})
	}
	return out
}
func (s *fakeServices) Launch(...string) error { return nil }
func (s *fakeServices) Stop(_ context.Context, ids ...string) error {
	s.stopped = append(s.stopped, ids...)
	return nil
}
func (s *fakeServices) Logs(string) (*logs.Log, error) { return nil, nil }

// configNode is a fakeNode with a machine config.
type configNode struct {
	fakeNode
	config []byte
}

func (n *configNode) Config() []byte { return n.config }

// kubeHarness serves a Machine with the given Kubernetes options.
func kubeHarness(t *testing.T, node server.Node, svcs *fakeServices, k server.KubernetesOptions) machine.MachineServiceClient {
	t.Helper()
	return serveMachine(t, node, svcs, k)
}

// kubeHarnessTB is kubeHarness for fuzz targets and benchmarks.
func kubeHarnessTB(tb testing.TB, svcs *fakeServices, k server.KubernetesOptions) machine.MachineServiceClient {
	tb.Helper()
	return serveMachine(tb, nil, svcs, k)
}

func serveMachine(t testing.TB, node server.Node, svcs *fakeServices, k server.KubernetesOptions) machine.MachineServiceClient {
	t.Helper()
	if node == nil {
		node = &fakeNode{}
	}
	m := server.NewMachine(server.MachineOptions{Node: node, Services: svcs, Kubernetes: k, Logger: quiet})
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	machine.RegisterMachineServiceServer(gs, m)
	go gs.Serve(lis) //nolint:errcheck // ends with Stop
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); gs.Stop() })
	return machine.NewMachineServiceClient(conn)
}

// fakeEtcd plays a member of a cluster of members; it records removals.
type fakeEtcd struct {
	clientv3.Cluster
	clientv3.Maintenance
	self    uint64
	members []uint64
	removed []uint64
	closed  int
}

func (e *fakeEtcd) Endpoints() []string { return []string{"https://127.0.0.1:2379"} }
func (e *fakeEtcd) Close() error        { e.closed++; return nil }
func (e *fakeEtcd) MemberList(context.Context, ...clientv3.OpOption) (*clientv3.MemberListResponse, error) {
	resp := &clientv3.MemberListResponse{}
	for _, id := range e.members {
		resp.Members = append(resp.Members, &etcdserverpb.Member{ID: id, Name: "cp-" + string(rune('0'+id)), PeerURLs: []string{"https://10.5.0.2:2380"}})
	}
	return resp, nil
}
func (e *fakeEtcd) MemberRemove(_ context.Context, id uint64) (*clientv3.MemberRemoveResponse, error) {
	e.removed = append(e.removed, id)
	return &clientv3.MemberRemoveResponse{}, nil
}
func (e *fakeEtcd) Status(context.Context, string) (*clientv3.StatusResponse, error) {
	return &clientv3.StatusResponse{Header: &etcdserverpb.ResponseHeader{MemberId: e.self}, Version: "3.7.3", DbSize: 4096, Leader: e.self}, nil
}
func (e *fakeEtcd) Defragment(context.Context, string) (*clientv3.DefragmentResponse, error) {
	return &clientv3.DefragmentResponse{}, nil
}
func (e *fakeEtcd) Snapshot(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(bytes.Repeat([]byte("s"), 200<<10))), nil
}

func etcdOptions(e *fakeEtcd) server.KubernetesOptions {
	return server.KubernetesOptions{Etcd: func(context.Context) (server.EtcdClient, error) { return e, nil }}
}

func TestEtcdNotRunning(t *testing.T) {
	ctx := context.Background()
	for name, k := range map[string]server.KubernetesOptions{
		"no dialer":       {},
		"service stopped": etcdOptions(&fakeEtcd{}),
	} {
		c := kubeHarness(t, nil, &fakeServices{running: []string{"containerd"}}, k)
		_, err := c.EtcdMemberList(ctx, &machine.EtcdMemberListRequest{})
		wantCode(t, err, codes.FailedPrecondition, "etcd is not running on this node")
		stream, err := c.EtcdSnapshot(ctx, &machine.EtcdSnapshotRequest{})
		if err == nil {
			_, err = stream.Recv()
		}
		wantCode(t, err, codes.FailedPrecondition, "etcd is not running on this node")
		_ = name
	}
}

func TestEtcdRPCs(t *testing.T) {
	ctx := context.Background()
	e := &fakeEtcd{self: 1, members: []uint64{1, 2}}
	svcs := &fakeServices{running: []string{"etcd"}}
	c := kubeHarness(t, nil, svcs, etcdOptions(e))

	list, err := c.EtcdMemberList(ctx, &machine.EtcdMemberListRequest{QueryLocal: true})
	if err != nil || len(list.GetMessages()[0].GetMembers()) != 2 || list.GetMessages()[0].GetMembers()[1].GetHostname() != "cp-2" {
		t.Fatalf("EtcdMemberList = %v, %v", list, err)
	}
	st, err := c.EtcdStatus(ctx, &emptypb.Empty{})
	if ms := st.GetMessages()[0].GetMemberStatus(); err != nil || ms.GetMemberId() != 1 || ms.GetDbSize() != 4096 || ms.GetProtocolVersion() != "3.7.3" {
		t.Fatalf("EtcdStatus = %v, %v", st, err)
	}
	stream, err := c.EtcdSnapshot(ctx, &machine.EtcdSnapshotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := drain(stream.Recv)
	total := 0
	for _, ch := range chunks {
		total += len(ch.GetBytes())
	}
	if err != nil || total != 200<<10 || len(chunks) < 2 {
		t.Fatalf("snapshot: %d bytes in %d chunks, %v", total, len(chunks), err)
	}
	if _, err := c.EtcdDefragment(ctx, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}

	_, err = c.EtcdRemoveMember(ctx, &machine.EtcdRemoveMemberRequest{})
	wantCode(t, err, codes.InvalidArgument, "member_id is 0")
	_, err = c.EtcdRemoveMember(ctx, &machine.EtcdRemoveMemberRequest{MemberId: 1})
	wantCode(t, err, codes.FailedPrecondition, "plinthctl etcd leave")
	_, err = c.EtcdRemoveMember(ctx, &machine.EtcdRemoveMemberRequest{MemberId: 0x99})
	wantCode(t, err, codes.NotFound, "no member 99")
	if _, err := c.EtcdRemoveMember(ctx, &machine.EtcdRemoveMemberRequest{MemberId: 2}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.removed, []uint64{2}) {
		t.Fatalf("removed %v, want [2]", e.removed)
	}

	e.members = []uint64{1}
	_, err = c.EtcdLeaveCluster(ctx, &machine.EtcdLeaveClusterRequest{})
	wantCode(t, err, codes.FailedPrecondition, "only member")
	e.members = []uint64{1, 3}
	if _, err := c.EtcdLeaveCluster(ctx, &machine.EtcdLeaveClusterRequest{}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.removed, []uint64{2, 1}) || !slices.Equal(svcs.stopped, []string{"etcd"}) {
		t.Fatalf("leave: removed %v, stopped %v", e.removed, svcs.stopped)
	}
	if e.closed == 0 {
		t.Error("etcd clients are never closed")
	}
}

// controlPlaneConfig generates the configs of a cluster.
func clusterConfigs(t *testing.T) (cp, worker []byte, b *secrets.Bundle) {
	t.Helper()
	b, err := secrets.NewBundle()
	if err != nil {
		t.Fatal(err)
	}
	in := &generate.Input{ClusterName: "demo", Endpoint: "https://10.5.0.2:6443", Secrets: b}
	for _, typ := range []string{"controlplane", "worker"} {
		cfg, err := in.Config(typ)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := cfg.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if typ == "worker" {
			worker = raw
		} else {
			cp = raw
		}
	}
	return cp, worker, b
}

func readKubeconfig(c machine.MachineServiceClient) ([]byte, error) {
	stream, err := c.Kubeconfig(context.Background(), &emptypb.Empty{})
	if err != nil {
		return nil, err
	}
	chunks, err := drain(stream.Recv)
	var out []byte
	for _, ch := range chunks {
		out = append(out, ch.GetBytes()...)
	}
	return out, err
}

func TestKubeconfig(t *testing.T) {
	cp, worker, bundle := clusterConfigs(t)

	_, err := readKubeconfig(kubeHarness(t, &configNode{config: worker}, &fakeServices{}, server.KubernetesOptions{}))
	wantCode(t, err, codes.FailedPrecondition, "kubeconfig is served by control planes")
	_, err = readKubeconfig(kubeHarness(t, &configNode{}, &fakeServices{}, server.KubernetesOptions{}))
	wantCode(t, err, codes.FailedPrecondition, "maintenance mode")

	data, err := readKubeconfig(kubeHarness(t, &configNode{config: cp}, &fakeServices{}, server.KubernetesOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kubeconfig.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	cl, u, err := kc.Current()
	if err != nil || kc.CurrentContext != "admin@demo" || cl.Server != "https://10.5.0.2:6443" {
		t.Fatalf("kubeconfig %s: %+v, %v", kc.CurrentContext, cl, err)
	}
	if !bytes.Equal(cl.CertificateAuthorityData, bundle.Certs.K8s.Crt) {
		t.Error("the kubeconfig's CA is not the Kubernetes CA")
	}
	cert, err := pki.ParseCertPEM(u.ClientCertificateData)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "admin" || !slices.Equal(cert.Subject.Organization, []string{"system:masters"}) {
		t.Errorf("subject %s", cert.Subject)
	}
	if days := cert.NotAfter.Sub(cert.NotBefore).Hours() / 24; days < 364 || days > 366 {
		t.Errorf("valid %.1f days, want a year", days)
	}
	ca, _ := pki.ParseCertPEM(bundle.Certs.K8s.Crt)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("admin certificate does not verify against the Kubernetes CA: %v", err)
	}
	if err := pki.KeyMatchesCert(u.ClientCertificateData, u.ClientKeyData); err != nil {
		t.Error(err)
	}
}

// fakeRuntime is a containerd with canned images and containers that
// records imports.
type fakeRuntime struct {
	imported map[string][]byte
	closed   int
}

func (r *fakeRuntime) Images(_ context.Context, ns string) ([]*machine.ImageInfo, error) {
	return []*machine.ImageInfo{{Name: "registry.k8s.io/pause:3.10", Digest: "sha256:aa", Size: 300 << 10}, {Name: ns + "/only"}}, nil
}
func (r *fakeRuntime) Import(_ context.Context, ns string, rd io.Reader) ([]*machine.ImageInfo, error) {
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	r.imported[ns] = b
	if len(b) == 0 {
		return nil, nil
	}
	return []*machine.ImageInfo{{Name: "docker.io/library/hello:v1", Size: int64(len(b))}}, nil
}
func (r *fakeRuntime) Containers(_ context.Context, ns string, cri bool) ([]*machine.ContainerInfo, error) {
	return []*machine.ContainerInfo{{Namespace: ns, Id: map[bool]string{true: "kube-system/coredns/coredns", false: "abc"}[cri]}}, nil
}
func (r *fakeRuntime) Close() error { r.closed++; return nil }

func TestImagesAndContainers(t *testing.T) {
	ctx := context.Background()
	c := kubeHarness(t, nil, &fakeServices{}, server.KubernetesOptions{})
	_, err := c.ImageList(ctx, &machine.ImageListRequest{})
	wantCode(t, err, codes.FailedPrecondition, "containerd is not running on this node")

	rt := &fakeRuntime{imported: map[string][]byte{}}
	c = kubeHarness(t, nil, &fakeServices{}, server.KubernetesOptions{
		Containerd: func(context.Context) (server.ContainerRuntime, error) { return rt, nil },
	})
	list, err := c.ImageList(ctx, &machine.ImageListRequest{})
	if err != nil || list.GetMessages()[0].GetImages()[1].GetName() != "k8s.io/only" {
		t.Fatalf("ImageList = %v, %v", list, err)
	}
	_, err = c.ImageList(ctx, &machine.ImageListRequest{Namespace: "../x"})
	wantCode(t, err, codes.InvalidArgument, "namespace")
	cs, err := c.Containers(ctx, &machine.ContainersRequest{Driver: common.ContainerDriver_CRI})
	if err != nil || cs.GetMessages()[0].GetContainers()[0].GetId() != "kube-system/coredns/coredns" {
		t.Fatalf("Containers = %v, %v", cs, err)
	}

	imp := func(msgs ...*machine.ImageImportRequest) (*machine.ImageImportResponse, error) {
		stream, err := c.ImageImport(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if err := stream.Send(m); err != nil {
				break
			}
		}
		return stream.CloseAndRecv()
	}
	header := func(ns string) *machine.ImageImportRequest {
		return &machine.ImageImportRequest{Request: &machine.ImageImportRequest_Header{Header: &machine.ImageImportHeader{Namespace: ns}}}
	}
	chunk := func(s string) *machine.ImageImportRequest {
		return &machine.ImageImportRequest{Request: &machine.ImageImportRequest_Chunk{Chunk: &common.Data{Bytes: []byte(s)}}}
	}
	_, err = imp()
	wantCode(t, err, codes.InvalidArgument, "no header")
	_, err = imp(chunk("x"))
	wantCode(t, err, codes.InvalidArgument, "first message must be the header")
	_, err = imp(header(""), chunk("a"), header("x"))
	wantCode(t, err, codes.InvalidArgument, "second header")
	_, err = imp(header("system"))
	wantCode(t, err, codes.InvalidArgument, "names no image")
	resp, err := imp(header("system"), chunk("tar "), chunk("bytes"))
	if err != nil || resp.GetMessages()[0].GetImages()[0].GetSize() != 9 || string(rt.imported["system"]) != "tar bytes" {
		t.Fatalf("ImageImport = %v, %v (imported %q)", resp, err, rt.imported)
	}
	if rt.closed != 5 {
		t.Errorf("runtime closed %d times, want 5 (one per call that reached it)", rt.closed)
	}
	if !strings.Contains(string(rt.imported["system"]), "bytes") {
		t.Error("import lost data")
	}
}
