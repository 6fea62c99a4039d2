package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/machine"
)

// Bootstrapper starts etcd on this control plane as the first member of a
// new cluster. An error that has a FailedPrecondition() method returning
// true is a refusal (already bootstrapped, a worker, ...): the API answers
// it with FailedPrecondition and its message.
type Bootstrapper func(ctx context.Context) error

// Bootstrap starts etcd on this control plane as the first member of a new
// cluster; the other control planes then join it by themselves.
func (m *Machine) Bootstrap(ctx context.Context, _ *machine.BootstrapRequest) (*machine.BootstrapResponse, error) {
	if m.opts.Bootstrap == nil {
		return nil, status.Error(codes.Unimplemented, "bootstrap is not available on this node")
	}
	if m.opts.Node.Maintenance() {
		return nil, status.Error(codes.FailedPrecondition, "the node is in maintenance mode: apply a machine config first")
	}
	if err := m.opts.Bootstrap(ctx); err != nil {
		var refusal interface{ FailedPrecondition() bool }
		if errors.As(err, &refusal) && refusal.FailedPrecondition() {
			return nil, status.Error(codes.FailedPrecondition, err.Error())
		}
		return nil, toStatus(err)
	}
	m.logger.Info("etcd bootstrap accepted")
	return &machine.BootstrapResponse{Messages: []*machine.Bootstrap{{}}}, nil
}
