package server

import (
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/grpc"

	"github.com/plinth-os/plinth/api/machine"
)

// maxHealthTimeout bounds the health gate a caller may ask for.
const maxHealthTimeout = 24 * time.Hour

// UpgradeOptions are a validated UpgradeRequest header.
type UpgradeOptions struct {
	// URL is where the node downloads the bundle; empty when the bundle
	// comes in the request's chunks (Bundle).
	URL string
	// Stage arms the new slot without rebooting.
	Stage bool
	// Force ignores the etcd quorum check.
	Force bool
	// HealthTimeout bounds the health gate (0: the default).
	HealthTimeout time.Duration
}

// UpgradeResult says what an upgrade did.
type UpgradeResult struct {
	Version, FromVersion, Slot string
	Rebooting                  bool
}

// RollbackResult says what a rollback chose.
type RollbackResult struct {
	Slot, Version string
}

// Upgrader is how the API upgrades and rolls back the node (machined).
type Upgrader interface {
	// Upgrade verifies the bundle read from bundle (nil when opts.URL is
	// set), writes it to the inactive slot (or installs the node) and
	// reboots into it unless staged. The reboot starts after it returns.
	Upgrade(ctx context.Context, opts UpgradeOptions, bundle io.Reader) (UpgradeResult, error)
	// Rollback makes the other slot the default and reboots into it.
	Rollback(ctx context.Context) (RollbackResult, error)
}

// Upgrade reads the header, then (without a URL) the bundle's chunks.
func (m *Machine) Upgrade(srv grpc.ClientStreamingServer[machine.UpgradeRequest, machine.UpgradeResponse]) error {
	if m.opts.Upgrader == nil {
		return toStatus(errors.New("this node cannot be upgraded: machined has no disk support here"))
	}
	first, err := srv.Recv()
	if errors.Is(err, io.EOF) {
		return invalidArgument("no header: the first message names the image URL or announces the bundle's chunks")
	}
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return invalidArgument("the first message must be the header, then the bundle's chunks")
	}
	opts := UpgradeOptions{URL: h.GetImageUrl(), Stage: h.GetStage(), Force: h.GetForce()}
	if d := h.GetHealthTimeout(); d != nil {
		opts.HealthTimeout = d.AsDuration()
		if opts.HealthTimeout <= 0 || opts.HealthTimeout > maxHealthTimeout {
			return invalidArgument("health timeout %s: expected more than 0 and at most %s", opts.HealthTimeout, maxHealthTimeout)
		}
	}
	var src io.Reader
	r := &chunkReader[*machine.UpgradeRequest]{recv: srv.Recv}
	if opts.URL == "" {
		src = r
	}
	res, err := m.opts.Upgrader.Upgrade(srv.Context(), opts, src)
	if r.err != nil && !errors.Is(r.err, io.EOF) {
		return r.err
	}
	if err != nil {
		return toStatus(err)
	}
	return srv.SendAndClose(&machine.UpgradeResponse{Messages: []*machine.Upgrade{{
		Version: res.Version, FromVersion: res.FromVersion, Slot: res.Slot, Rebooting: res.Rebooting,
	}}})
}

// Rollback makes the other boot slot the default and reboots.
func (m *Machine) Rollback(ctx context.Context, _ *machine.RollbackRequest) (*machine.RollbackResponse, error) {
	if m.opts.Upgrader == nil {
		return nil, toStatus(errors.New("this node cannot be rolled back: machined has no disk support here"))
	}
	res, err := m.opts.Upgrader.Rollback(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &machine.RollbackResponse{Messages: []*machine.Rollback{{Slot: res.Slot, Version: res.Version}}}, nil
}
