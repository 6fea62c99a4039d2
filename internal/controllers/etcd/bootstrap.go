package etcd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
	"github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
)

// BootstrappedPath records in STATE that this node bootstrapped etcd: it
// survives reboots and upgrades, a reset wipes it with the rest of STATE.
const BootstrappedPath = constants.StateDir + "/bootstrapped"

// RefusedError is a Bootstrap call refused because of the node's state;
// the API answers it with FailedPrecondition.
type RefusedError struct{ Reason string }

// Error returns the reason.
func (e *RefusedError) Error() string { return e.Reason }

// FailedPrecondition marks the error for the API.
func (*RefusedError) FailedPrecondition() bool { return true }

func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// bootstrapMu serialises Bootstrap calls: two at once must not both pass
// the checks.
var bootstrapMu sync.Mutex

// Bootstrap makes this control plane the first etcd member of a new
// cluster. It is refused (a *RefusedError) on a node without a config, on a
// worker, on a node that bootstrapped already, on a node with etcd data and
// on a node that found an existing cluster to join. Accepted, it writes
// BootstrappedPath, then the EtcdBootstrap resource that tells
// ServiceController to start etcd with --initial-cluster-state new.
func Bootstrap(ctx context.Context, st runtime.ReadWriter, root string, now func() time.Time) error {
	bootstrapMu.Lock()
	defer bootstrapMu.Unlock()

	cfg, err := read.MachineConfig(ctx, st)
	if err != nil {
		return err
	}

	switch {
	case cfg == nil || cfg.Machine == nil:
		return refused("the node has no machine config: apply one first")
	case cfg.Machine.Type != v1alpha1.TypeControlPlane:
		return refused("bootstrap is only possible on a control-plane node, this one is a %s", cfg.Machine.Type)
	}

	if done, err := Bootstrapped(root); err != nil {
		return err
	} else if done {
		return refused("etcd is already bootstrapped on this node")
	}

	if ok, err := exists(filepath.Join(root, DataDir, "member")); err != nil {
		return err
	} else if ok {
		return refused("etcd already has data on this node (%s): it is a member of a cluster", DataDir)
	}

	cur, err := read.Typed[etcd.StatusSpec](ctx, st, etcd.NewStatus().Metadata().Ref())
	if err != nil {
		return err
	}

	if cur != nil && cur.TypedSpec().Role == RoleJoin && cur.TypedSpec().Phase != etcd.PhaseWaiting {
		return refused("the cluster is already bootstrapped: this node is joining it")
	}

	at := now().UTC()

	path := filepath.Join(root, BootstrappedPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}

	if err := fsutil.WriteFileAtomic(path, []byte(at.Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}

	err = runtime.ModifyTyped(ctx, st, etcd.NewBootstrap(), func(b *etcd.Bootstrap) error {
		*b.TypedSpec() = etcd.BootstrapSpec{Bootstrapped: true, Time: at}

		return nil
	})
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}

	return nil
}

// Bootstrapped reports whether this node bootstrapped etcd.
func Bootstrapped(root string) (bool, error) {
	return exists(filepath.Join(root, BootstrappedPath))
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}

	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}

	return false, fmt.Errorf("stat %s: %w", path, err)
}
