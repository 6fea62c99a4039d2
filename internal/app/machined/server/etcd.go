package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/supervisor"
)

// etcdServiceID is the supervisor's id of the etcd service.
const etcdServiceID = "etcd"

// etcdCallTimeout bounds one unary etcd call (snapshots are bounded only
// by the client's context).
const etcdCallTimeout = 30 * time.Second

// EtcdClient is the part of etcd's client the API uses: membership and
// maintenance of the member it is connected to.
type EtcdClient interface {
	clientv3.Cluster
	clientv3.Maintenance
	// Endpoints are the member's client URLs the client talks to.
	Endpoints() []string
	Close() error
}

// EtcdDialer connects to the node's own etcd member. machined passes one
// built by LocalEtcd.
type EtcdDialer func(ctx context.Context) (EtcdClient, error)

// EtcdCredentials are the PEM etcd CA, client certificate and key that a
// client of the local member trusts and presents.
type EtcdCredentials struct {
	CA, Cert, Key []byte
}

// LocalEtcd returns a dialer of the etcd member at endpoint (such as
// https://127.0.0.1:2379) with the credentials creds returns, asked at
// each dial so that renewed certificates are used.
func LocalEtcd(endpoint string, creds func(ctx context.Context) (EtcdCredentials, error)) EtcdDialer {
	return func(ctx context.Context) (EtcdClient, error) {
		c, err := creds(ctx)
		if err != nil {
			return nil, err
		}
		tlsCfg, err := etcdTLS(c)
		if err != nil {
			return nil, err
		}
		cl, err := clientv3.New(clientv3.Config{
			Endpoints:   []string{endpoint},
			TLS:         tlsCfg,
			DialTimeout: 5 * time.Second,
			Context:     ctx,
			Logger:      zap.NewNop(),
			DialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(32 << 20))},
		})
		if err != nil {
			return nil, fmt.Errorf("etcd client for %s: %w", endpoint, err)
		}
		return cl, nil
	}
}

// etcdTLS builds the client's TLS configuration from creds.
func etcdTLS(creds EtcdCredentials) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(creds.Cert, creds.Key)
	if err != nil {
		return nil, fmt.Errorf("etcd client certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(creds.CA) {
		return nil, errors.New("etcd CA: no PEM certificate")
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// errEtcdNotRunning is the answer of every etcd RPC on nodes without a
// running etcd member (workers, control planes before bootstrap).
var errEtcdNotRunning = status.Error(codes.FailedPrecondition, "etcd is not running on this node")

// etcd connects to the local member after checking that the etcd service
// runs. Callers close the client.
func (m *Machine) etcd(ctx context.Context) (EtcdClient, error) {
	if m.opts.Kubernetes.Etcd == nil || !slices.ContainsFunc(m.opts.Services.List(), func(s supervisor.ServiceInfo) bool {
		return s.ID == etcdServiceID && s.State == supervisor.Running
	}) {
		return nil, errEtcdNotRunning
	}
	c, err := m.opts.Kubernetes.Etcd(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "connect to the local etcd member: %v", err)
	}
	return c, nil
}

// etcdError turns an error of etcd's client into a status naming what
// failed.
func etcdError(what string, err error) error {
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return status.Errorf(s.Code(), "etcd %s: %s", what, s.Message())
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Errorf(codes.DeadlineExceeded, "etcd %s: %v", what, err)
	case errors.Is(err, context.Canceled):
		return status.Errorf(codes.Canceled, "etcd %s: %v", what, err)
	}
	return status.Errorf(codes.Internal, "etcd %s: %v", what, err)
}

// withEtcd runs fn with a client of the local member and a bounded
// context.
func (m *Machine) withEtcd(ctx context.Context, fn func(ctx context.Context, c EtcdClient) error) error {
	c, err := m.etcd(ctx)
	if err != nil {
		return err
	}
	defer c.Close() //nolint:errcheck // nothing to do about it
	ctx, cancel := context.WithTimeout(ctx, etcdCallTimeout)
	defer cancel()
	return fn(ctx, c)
}

// localMemberID is the id of the member c is connected to.
func localMemberID(ctx context.Context, c EtcdClient) (uint64, error) {
	st, err := c.Status(ctx, c.Endpoints()[0])
	if err != nil {
		return 0, etcdError("status", err)
	}
	return st.Header.GetMemberId(), nil
}

// EtcdMemberList lists the etcd cluster's members, as the local member
// knows them with query_local, else by a linearizable read.
func (m *Machine) EtcdMemberList(ctx context.Context, req *machine.EtcdMemberListRequest) (*machine.EtcdMemberListResponse, error) {
	var out []*machine.EtcdMember
	err := m.withEtcd(ctx, func(ctx context.Context, c EtcdClient) error {
		var opts []clientv3.OpOption // linearizable by default
		if req.GetQueryLocal() {
			opts = append(opts, clientv3.WithSerializable())
		}
		resp, err := c.MemberList(ctx, opts...)
		if err != nil {
			return etcdError("member list", err)
		}
		for _, mb := range resp.Members {
			out = append(out, &machine.EtcdMember{
				Id: mb.GetID(), Hostname: mb.GetName(), PeerUrls: mb.GetPeerURLs(),
				ClientUrls: mb.GetClientURLs(), IsLearner: mb.GetIsLearner(),
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &machine.EtcdMemberListResponse{Messages: []*machine.EtcdMembers{{Members: out}}}, nil
}

// EtcdStatus reports the local member's status.
func (m *Machine) EtcdStatus(ctx context.Context, _ *emptypb.Empty) (*machine.EtcdStatusResponse, error) {
	var ms *machine.EtcdMemberStatus
	err := m.withEtcd(ctx, func(ctx context.Context, c EtcdClient) error {
		st, err := c.Status(ctx, c.Endpoints()[0])
		if err != nil {
			return etcdError("status", err)
		}
		ms = &machine.EtcdMemberStatus{
			MemberId: st.Header.GetMemberId(), ProtocolVersion: st.Version, StorageVersion: st.StorageVersion,
			DbSize: st.DbSize, DbSizeInUse: st.DbSizeInUse, Leader: st.Leader,
			RaftIndex: st.RaftIndex, RaftTerm: st.RaftTerm, RaftAppliedIndex: st.RaftAppliedIndex,
			Errors: st.Errors, IsLearner: st.IsLearner,
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &machine.EtcdStatusResponse{Messages: []*machine.EtcdStatus{{MemberStatus: ms}}}, nil
}

// EtcdSnapshot streams a point-in-time snapshot of the database.
func (m *Machine) EtcdSnapshot(_ *machine.EtcdSnapshotRequest, srv grpc.ServerStreamingServer[common.Data]) error {
	ctx := srv.Context()
	c, err := m.etcd(ctx)
	if err != nil {
		return err
	}
	defer c.Close() //nolint:errcheck // nothing to do about it
	r, err := c.Snapshot(ctx)
	if err != nil {
		return etcdError("snapshot", err)
	}
	defer r.Close() //nolint:errcheck // read-only
	m.logger.Info("etcd snapshot started")
	if err := streamReader(r, func(b []byte) error { return srv.Send(&common.Data{Bytes: b}) }); err != nil {
		return etcdError("snapshot", err)
	}
	return nil
}

// EtcdRemoveMember removes another member (of a node that is gone) from
// the cluster. A node leaves with EtcdLeaveCluster instead.
func (m *Machine) EtcdRemoveMember(ctx context.Context, req *machine.EtcdRemoveMemberRequest) (*machine.EtcdRemoveMemberResponse, error) {
	if req.GetMemberId() == 0 {
		return nil, invalidArgument("member_id is 0: give the id of a member (see EtcdMemberList)")
	}
	err := m.withEtcd(ctx, func(ctx context.Context, c EtcdClient) error {
		self, err := localMemberID(ctx, c)
		if err != nil {
			return err
		}
		if self == req.GetMemberId() {
			return status.Errorf(codes.FailedPrecondition, "member %x is this node's own: leave the cluster with EtcdLeaveCluster (plinthctl etcd leave) instead", self)
		}
		list, err := c.MemberList(ctx)
		if err != nil {
			return etcdError("member list", err)
		}
		if !slices.ContainsFunc(list.Members, func(mb *etcdserverpb.Member) bool { return mb.GetID() == req.GetMemberId() }) {
			return status.Errorf(codes.NotFound, "etcd has no member %x", req.GetMemberId())
		}
		if _, err := c.MemberRemove(ctx, req.GetMemberId()); err != nil {
			return etcdError(fmt.Sprintf("remove member %x", req.GetMemberId()), err)
		}
		m.logger.Info("etcd member removed", "member", fmt.Sprintf("%x", req.GetMemberId()))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &machine.EtcdRemoveMemberResponse{Messages: []*machine.EtcdRemoveMember{{}}}, nil
}

// EtcdLeaveCluster removes this node's member from the cluster and stops
// the etcd service; it refuses to remove the last member.
func (m *Machine) EtcdLeaveCluster(ctx context.Context, _ *machine.EtcdLeaveClusterRequest) (*machine.EtcdLeaveClusterResponse, error) {
	err := m.withEtcd(ctx, func(ctx context.Context, c EtcdClient) error {
		self, err := localMemberID(ctx, c)
		if err != nil {
			return err
		}
		list, err := c.MemberList(ctx)
		if err != nil {
			return etcdError("member list", err)
		}
		if len(list.Members) <= 1 {
			return status.Error(codes.FailedPrecondition, "this node holds etcd's only member: leaving would destroy the cluster's data")
		}
		if _, err := c.MemberRemove(ctx, self); err != nil {
			return etcdError(fmt.Sprintf("remove member %x (this node)", self), err)
		}
		m.logger.Info("left the etcd cluster", "member", fmt.Sprintf("%x", self))
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The removed member stops serving; stop its service rather than let
	// it fail and restart.
	if err := m.opts.Services.Stop(ctx, etcdServiceID); err != nil {
		m.logger.Warn("stop etcd after leaving failed", "error", err)
	}
	return &machine.EtcdLeaveClusterResponse{Messages: []*machine.EtcdLeaveCluster{{}}}, nil
}

// EtcdDefragment defragments the local member's database.
func (m *Machine) EtcdDefragment(ctx context.Context, _ *emptypb.Empty) (*machine.EtcdDefragmentResponse, error) {
	err := m.withEtcd(ctx, func(ctx context.Context, c EtcdClient) error {
		if _, err := c.Defragment(ctx, c.Endpoints()[0]); err != nil {
			return etcdError("defragment", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &machine.EtcdDefragmentResponse{Messages: []*machine.EtcdDefragment{{}}}, nil
}
