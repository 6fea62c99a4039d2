package k8s

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/plinth-os/plinth/internal/controllers/etcd"
	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	resetcd "github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
	rt "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// ControlPlaneController asks machined to run kube-apiserver,
// kube-controller-manager and kube-scheduler on a control plane:
//
//	worker, no config ──▶ no ServiceConfigs (removed)
//	control plane ──certificates, etcd running (voting member)──▶ ServiceConfigs
//
// The services wait for their files; kube-apiserver depends on etcd and the
// other two on kube-apiserver being healthy (/readyz), so they start after
// it answers and stop before it. Once etcd ran in this controller's run
// the services stay even if etcd's status flaps: the supervisor orders
// them. A change of the certificates changes the ConfigHash, restarting them.
type ControlPlaneController struct{}

// Name implements runtime.Controller.
func (ControlPlaneController) Name() string { return "k8s.ControlPlaneController" }

// Inputs implements runtime.Controller.
func (ControlPlaneController) Inputs() []runtime.Input {
	return []runtime.Input{
		read.ConfigInput,
		{Namespace: network.NamespaceName, Type: network.NodeAddressesType, ID: network.NodeAddressesID},
		{Namespace: k8s.NamespaceName, Type: k8s.CertificatesType, ID: k8s.CertificatesID},
		{Namespace: resetcd.NamespaceName, Type: resetcd.CertificatesType, ID: resetcd.CertificatesID},
		{Namespace: resetcd.NamespaceName, Type: resetcd.StatusType, ID: resetcd.StatusID},
	}
}

// Outputs implements runtime.Controller.
func (ControlPlaneController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: rt.ServiceConfigType, Kind: runtime.OutputShared}}
}

// Run implements runtime.Controller.
func (c ControlPlaneController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	etcdRan := false

	var lastProblem string

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		}

		problem, err := c.reconcile(ctx, r, &etcdRan)
		if err != nil {
			return err
		}

		if problem != "" && problem != lastProblem {
			logger.Warn("control plane not configured", "error", problem)
		}

		lastProblem = problem
	}
}

// reconcile writes or removes the ServiceConfigs; it returns a config
// problem that keeps them from being written.
func (c ControlPlaneController) reconcile(ctx context.Context, r runtime.ControllerRuntime, etcdRan *bool) (string, error) {
	tr := runtime.NewOutputTracker(r, rt.NamespaceName, rt.ServiceConfigType)

	cfg, err := read.MachineConfig(ctx, r)
	if err != nil {
		return "", err
	}

	if cfg == nil || cfg.Machine == nil || cfg.Machine.Type != v1alpha1.TypeControlPlane {
		*etcdRan = false

		return "", cleanup(ctx, tr)
	}

	certs, err := read.Typed[k8s.CertificatesSpec](ctx, r, k8s.NewCertificates().Metadata().Ref())
	if err != nil {
		return "", err
	}

	etcdCerts, err := read.Typed[resetcd.CertificatesSpec](ctx, r, resetcd.NewCertificates().Metadata().Ref())
	if err != nil {
		return "", err
	}

	status, err := read.Typed[resetcd.StatusSpec](ctx, r, resetcd.NewStatus().Metadata().Ref())
	if err != nil {
		return "", err
	}

	addrs, err := read.Typed[network.NodeAddressesSpec](ctx, r, network.NewNodeAddresses().Metadata().Ref())
	if err != nil {
		return "", err
	}

	*etcdRan = *etcdRan || (status != nil && status.TypedSpec().Phase == resetcd.PhaseRunning)

	if !*etcdRan || certs == nil || certs.TypedSpec().APIServer.Crt == "" || etcdCerts == nil || addrs == nil {
		return "", nil // not yet: keep what runs
	}

	in, err := newControlPlaneInput(cfg.Cluster, addrs.TypedSpec().Addresses)
	if err != nil {
		return err.Error(), nil
	}

	for id, spec := range controlPlaneServices(in, certs.TypedSpec().Hash, etcdCerts.TypedSpec().Hash) {
		err := tr.Modify(ctx, rt.NewServiceConfig(id), func(res resource.Resource) error {
			*res.(*rt.ServiceConfig).TypedSpec() = spec

			return nil
		})
		if err != nil {
			return "", fmt.Errorf("%s service config: %w", id, err)
		}
	}

	return "", cleanup(ctx, tr)
}

func cleanup(ctx context.Context, tr *runtime.OutputTracker) error {
	if err := tr.Cleanup(ctx); err != nil {
		return fmt.Errorf("control plane service configs: %w", err)
	}

	return nil
}

// newControlPlaneInput reads the cluster settings and picks the address
// kube-apiserver advertises: the node's first address that is not a pod or
// service address.
func newControlPlaneInput(c *v1alpha1.Cluster, addresses []string) (controlPlaneInput, error) {
	cl, err := newCluster(c)
	if err != nil {
		return controlPlaneInput{}, err
	}

	in := controlPlaneInput{cluster: cl}

	if addrs := cl.nodeAddrs(addresses); len(addrs) > 0 {
		in.advertise = addrs[0]
	}

	if !in.advertise.IsValid() {
		return controlPlaneInput{}, fmt.Errorf("the node has no address to advertise")
	}

	if c.APIServer != nil {
		in.apiServerExtra = c.APIServer.ExtraArgs
	}

	if c.ControllerManager != nil {
		in.controllerManagerExtra = c.ControllerManager.ExtraArgs
	}

	if c.Scheduler != nil {
		in.schedulerExtra = c.Scheduler.ExtraArgs
	}

	return in, nil
}

// controlPlaneServices are the ServiceConfigs of the three components.
func controlPlaneServices(in controlPlaneInput, certsHash, etcdHash string) map[string]rt.ServiceConfigSpec {
	return map[string]rt.ServiceConfigSpec{
		APIServerID: {
			Args:      apiServerArgs(in),
			DependsOn: []string{etcd.ServiceID},
			WaitFiles: []string{APIServerCertPath, EncryptionConfigPath, etcd.APIServerClientCertPath},
			HealthCheck: &rt.HealthCheck{
				URL: APIServerReadyz, CAFile: CACertPath, CertFile: AdminCertPath, KeyFile: AdminKeyPath,
			},
			ConfigHash: certsHash + "-" + etcdHash,
		},
		ControllerManagerID: {
			Args:        controllerManagerArgs(in),
			DependsOn:   []string{APIServerID},
			WaitFiles:   []string{ControllerManagerKubeconfigPath},
			HealthCheck: &rt.HealthCheck{URL: ControllerManagerHealth, Insecure: true},
			ConfigHash:  certsHash,
		},
		SchedulerID: {
			Args:        schedulerArgs(in),
			DependsOn:   []string{APIServerID},
			WaitFiles:   []string{SchedulerKubeconfigPath},
			HealthCheck: &rt.HealthCheck{URL: SchedulerHealth, Insecure: true},
			ConfigHash:  certsHash,
		},
	}
}
