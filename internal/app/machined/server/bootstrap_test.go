package server_test

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/server"
)

// refusal is an error the API must answer with FailedPrecondition.
type refusal struct{}

func (refusal) Error() string            { return "etcd is already bootstrapped on this node" }
func (refusal) FailedPrecondition() bool { return true }

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	req := &machine.BootstrapRequest{}

	m := server.NewMachine(server.MachineOptions{Node: &fakeNode{}, Logger: quiet})
	_, err := m.Bootstrap(ctx, req)
	wantCode(t, err, codes.Unimplemented, "not available")

	calls := 0
	m = server.NewMachine(server.MachineOptions{Node: &fakeNode{}, Logger: quiet, Bootstrap: func(context.Context) error {
		calls++
		if calls > 1 {
			return refusal{}
		}
		return nil
	}})
	if resp, err := m.Bootstrap(ctx, req); err != nil || len(resp.GetMessages()) != 1 {
		t.Fatalf("Bootstrap = %v, %v", resp, err)
	}
	_, err = m.Bootstrap(ctx, req)
	wantCode(t, err, codes.FailedPrecondition, "etcd is already bootstrapped on this node")

	m = server.NewMachine(server.MachineOptions{Node: &fakeNode{}, Logger: quiet, Bootstrap: func(context.Context) error {
		return errors.New("disk full")
	}})
	_, err = m.Bootstrap(ctx, req)
	wantCode(t, err, codes.Internal, "disk full")
}
