package k8s

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/etcd"
	"github.com/plinth-os/plinth/internal/kube"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	resetcd "github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
	rt "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// Defaults of ManifestApplyController.
const (
	DefaultApplyRetryInitial = 2 * time.Second
	DefaultApplyRetryMax     = 30 * time.Second
)

// ManifestApplyController applies the Manifest resources to the cluster
// with server-side apply, on the node that bootstrapped it only:
//
//	not the bootstrap node ──▶ nothing
//	bootstrap node ──kube-apiserver /readyz──▶ apply each manifest in id order
//	        │                                        │ failed: retried with backoff
//	        └──────── a manifest's hash changes ◀─────┘ applied: ManifestStatus
//
// It talks to the local kube-apiserver as machined's admin. Each manifest's
// objects are applied namespaces, CRDs, service accounts and roles first;
// one failure does not stop the other manifests. A ManifestStatus per
// manifest records the outcome.
type ManifestApplyController struct {
	// Root is the file-system root (the bootstrap record is under it).
	Root string
	// NewClient makes the API client; nil means kube.New.
	NewClient func(kube.Config) (*kube.Client, error)
	// RetryInitial and RetryMax bound the backoff after failures.
	RetryInitial, RetryMax time.Duration
	// Now is the clock of the statuses; nil means time.Now.
	Now func() time.Time
}

// Name implements runtime.Controller.
func (*ManifestApplyController) Name() string { return "k8s.ManifestApplyController" }

// Inputs implements runtime.Controller.
func (*ManifestApplyController) Inputs() []runtime.Input {
	return []runtime.Input{
		{Namespace: k8s.NamespaceName, Type: k8s.ManifestType},
		{Namespace: k8s.NamespaceName, Type: k8s.CertificatesType, ID: k8s.CertificatesID},
		{Namespace: resetcd.NamespaceName, Type: resetcd.BootstrapType, ID: resetcd.BootstrapID},
		{Namespace: rt.NamespaceName, Type: rt.ServiceType, ID: APIServerID},
	}
}

// Outputs implements runtime.Controller.
func (*ManifestApplyController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: k8s.ManifestStatusType}}
}

// applyState is what one Run remembers.
type applyState struct {
	client   *kube.Client
	certHash string
	// failures counts consecutive failed rounds, for the backoff.
	failures int
}

// Run implements runtime.Controller.
func (c *ManifestApplyController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	if c.NewClient == nil {
		c.NewClient = kube.New
	}

	if c.Now == nil {
		c.Now = time.Now
	}

	c.RetryInitial = cmp.Or(c.RetryInitial, DefaultApplyRetryInitial)
	c.RetryMax = cmp.Or(c.RetryMax, DefaultApplyRetryMax)

	st := &applyState{}

	defer func() {
		if st.client != nil {
			st.client.Close()
		}
	}()

	timer := time.NewTimer(time.Hour)
	timer.Stop()

	defer timer.Stop()

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		case <-timer.C:
		}

		retry, err := c.reconcile(ctx, r, logger, st)
		if err != nil {
			return err
		}

		timer.Stop()

		if retry {
			delay := c.RetryInitial << min(st.failures, 10)
			st.failures++

			timer.Reset(min(delay, c.RetryMax))
		} else {
			st.failures = 0
		}
	}
}

// reconcile applies what needs applying; it reports whether to try again.
func (c *ManifestApplyController) reconcile(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger, st *applyState) (bool, error) {
	ready, err := c.bootstrapNode(ctx, r)
	if err != nil || !ready {
		return false, err
	}

	certs, err := readCertificates(ctx, r)
	if err != nil || certs == nil || certs.Admin.Crt == "" {
		return false, err
	}

	if st.client == nil || st.certHash != certs.Hash {
		if st.client != nil {
			st.client.Close()
		}

		st.client, err = c.NewClient(kube.Config{
			Server: LocalAPIServer, CA: []byte(certs.CA), Cert: []byte(certs.Admin.Crt), Key: []byte(certs.Admin.Key),
		})
		if err != nil {
			return false, err
		}

		st.certHash = certs.Hash
	}

	if err := st.client.Ready(ctx); err != nil {
		logger.Debug("kube-apiserver not ready", "error", err)

		return true, nil
	}

	return c.applyAll(ctx, r, logger, st.client)
}

// bootstrapNode reports whether this node bootstrapped the cluster.
func (c *ManifestApplyController) bootstrapNode(ctx context.Context, r runtime.Reader) (bool, error) {
	b, err := r.Get(ctx, resetcd.NewBootstrap().Metadata().Ref())
	if err == nil {
		if bs, ok := b.(*resetcd.Bootstrap); ok && bs.TypedSpec().Bootstrapped {
			return true, nil
		}
	} else if !errors.Is(err, runtime.ErrNotFound) {
		return false, fmt.Errorf("read bootstrap record: %w", err)
	}

	return etcd.Bootstrapped(c.Root)
}

func readCertificates(ctx context.Context, r runtime.Reader) (*k8s.CertificatesSpec, error) {
	res, err := r.Get(ctx, k8s.NewCertificates().Metadata().Ref())
	if errors.Is(err, runtime.ErrNotFound) {
		return nil, nil
	}

	if err != nil {
		return nil, fmt.Errorf("read kubernetes certificates: %w", err)
	}

	certs, ok := res.(*k8s.Certificates)
	if !ok {
		return nil, fmt.Errorf("read kubernetes certificates: stored resource is %T", res)
	}

	return certs.TypedSpec(), nil
}

// applyAll applies every manifest whose status is not an applied one of
// its hash, and removes the statuses of removed manifests.
func (c *ManifestApplyController) applyAll(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger, client *kube.Client) (bool, error) {
	manifests, err := r.List(ctx, k8s.NamespaceName, k8s.ManifestType)
	if err != nil {
		return false, fmt.Errorf("list manifests: %w", err)
	}

	tr := runtime.NewOutputTracker(r, k8s.NamespaceName, k8s.ManifestStatusType)
	retry := false

	for _, res := range manifests {
		m, ok := res.(*k8s.Manifest)
		if !ok || res.Metadata().Phase != resource.PhaseRunning {
			continue
		}

		id, spec := m.Metadata().ID, m.TypedSpec()

		cur, err := r.Get(ctx, k8s.NewManifestStatus(id).Metadata().Ref())
		if err != nil && !errors.Is(err, runtime.ErrNotFound) {
			return false, fmt.Errorf("manifest status %s: %w", id, err)
		}

		if s, ok := cur.(*k8s.ManifestStatus); ok && s.TypedSpec().Applied && s.TypedSpec().Hash == spec.Hash {
			tr.Keep(s.Metadata().Ref())

			continue
		}

		status := c.applyOne(ctx, client, spec)
		if status.Applied {
			logger.Info("manifest applied", "manifest", id, "objects", len(status.Objects))
		} else {
			retry = true

			logger.Warn("manifest not applied", "manifest", id, "error", status.Error)
		}

		err = tr.Modify(ctx, k8s.NewManifestStatus(id), func(res resource.Resource) error {
			*res.(*k8s.ManifestStatus).TypedSpec() = status

			return nil
		})
		if err != nil {
			return false, fmt.Errorf("manifest status %s: %w", id, err)
		}
	}

	if err := tr.Cleanup(ctx); err != nil {
		return false, fmt.Errorf("manifest statuses: %w", err)
	}

	return retry, nil
}

// applyOne applies one manifest's objects and says how it went.
func (c *ManifestApplyController) applyOne(ctx context.Context, client *kube.Client, spec *k8s.ManifestSpec) k8s.ManifestStatusSpec {
	out := k8s.ManifestStatusSpec{Hash: spec.Hash, Time: c.Now().UTC()}

	objs, err := kube.ParseYAML([]byte(spec.Objects))
	if err != nil {
		out.Error = err.Error()

		return out
	}

	for _, o := range kube.SortForApply(objs) {
		if err := client.Apply(ctx, o); err != nil {
			out.Error = err.Error()

			return out
		}

		out.Objects = append(out.Objects, o.String())
	}

	out.Applied = true

	return out
}
