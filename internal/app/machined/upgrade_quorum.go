package machined

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/internal/install"
	"github.com/plinth-os/plinth/internal/supervisor"
)

// etcdRunning reports whether this node runs an etcd member.
func (m *machined) etcdRunning() bool {
	for _, s := range m.sup.List() {
		if s.ID == "etcd" && s.State == supervisor.Running {
			return true
		}
	}
	return false
}

// withEtcdMembers runs check with a client of this node's etcd member and
// its member list, within 15 s; a node without a running member passes.
// what names the caller's check and hint how to do without it, in the
// Unavailable error of a member that does not answer.
func (m *machined) withEtcdMembers(ctx context.Context, what, hint string, check func(context.Context, server.EtcdClient, *clientv3.MemberListResponse) error) error {
	if !m.etcdRunning() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := m.kubernetesAPI().Etcd(ctx)
	if err != nil {
		return status.Errorf(codes.Unavailable, "%s: %v (%s)", what, err, hint)
	}
	defer c.Close()
	list, err := c.MemberList(ctx)
	if err != nil {
		return status.Errorf(codes.Unavailable, "%s: member list: %v (%s)", what, err, hint)
	}
	return check(ctx, c, list)
}

// checkQuorum refuses an upgrade of a control plane whose reboot would
// cost etcd its quorum.
func (m *machined) checkQuorum(ctx context.Context) error {
	return m.withEtcdMembers(ctx, "upgrade: etcd quorum check", "use --force to upgrade anyway",
		func(ctx context.Context, c server.EtcdClient, list *clientv3.MemberListResponse) error {
			self := list.Header.GetMemberId()
			voters, healthy := 0, 0
			for _, mem := range list.Members {
				if mem.IsLearner {
					continue
				}
				voters++
				if mem.ID == self || len(mem.ClientURLs) == 0 {
					continue
				}
				if _, err := c.Status(ctx, mem.ClientURLs[0]); err == nil {
					healthy++
				}
			}
			if err := install.CheckQuorum(voters, healthy); err != nil {
				return status.Error(codes.FailedPrecondition, "upgrade: "+err.Error())
			}
			return nil
		})
}
