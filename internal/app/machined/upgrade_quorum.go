package machined

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/internal/install"
	"github.com/plinth-os/plinth/internal/supervisor"
)

// checkQuorum refuses an upgrade of a control plane whose reboot would
// cost etcd its quorum. Nodes without a running etcd member pass.
func (m *machined) checkQuorum(ctx context.Context) error {
	running := false
	for _, s := range m.sup.List() {
		if s.ID == "etcd" && s.State == supervisor.Running {
			running = true
		}
	}
	if !running {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := m.kubernetesAPI().Etcd(ctx)
	if err != nil {
		return status.Errorf(codes.Unavailable, "upgrade: etcd quorum check: %v (use --force to upgrade anyway)", err)
	}
	defer c.Close()
	list, err := c.MemberList(ctx)
	if err != nil {
		return status.Errorf(codes.Unavailable, "upgrade: etcd quorum check: %v (use --force to upgrade anyway)", err)
	}
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
}
