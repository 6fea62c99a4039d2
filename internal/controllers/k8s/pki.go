// Package k8s holds the controllers of Kubernetes on the node: the control
// plane's certificates and services, the manifests applied to a
// bootstrapped cluster, and the node's own components (kubelet, containerd,
// kube-proxy, CNI).
package k8s

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// Defaults of PKIController.
const (
	DefaultPKIRecheck = time.Minute
	DefaultPKIRetry   = 10 * time.Second
)

// PKIController keeps the Kubernetes key material of the node and the
// KubernetesCertificates resource that summarises it in step with the
// machine config, the hostname and the node addresses.
//
//	no config ──config──▶ worker: CACertPath only
//	    ▲            └──▶ control plane: wait for Hostname and NodeAddresses
//	    │                        │
//	    │ reset                  ▼
//	    │ (resource,    issue what is missing ──fails──▶ retry after RetryInterval
//	    │  files            │ ok
//	    │  removed)         ▼
//	    └──────────── issued ──SANs or CA change, renewal due──▶ issue again
//
// A control plane gets kube-apiserver's serving certificate (the SANs of
// apiServerSANs), its kubelet client and front-proxy client certificates,
// the client certificates and kubeconfigs of kube-controller-manager,
// kube-scheduler and machined (admin), the service-account key pair, the CA
// key (kube-controller-manager signs kubelet certificates with it) and the
// EncryptionConfiguration of Secrets. Keys are new at every issue; a
// certificate is issued again only when its CA or SANs changed or within
// CertRenewBefore of expiry. The controller wakes at least every
// RecheckInterval, so a wall-clock jump is noticed.
type PKIController struct {
	// Root is the file-system root the files are written under.
	Root string
	// Now is the clock for issuing and renewal; nil means time.Now.
	Now func() time.Time
	// RecheckInterval is the longest sleep between renewal checks.
	RecheckInterval time.Duration
	// RetryInterval is the sleep after a failed issue.
	RetryInterval time.Duration
}

// Name implements runtime.Controller.
func (*PKIController) Name() string { return "k8s.PKIController" }

// Inputs implements runtime.Controller.
func (*PKIController) Inputs() []runtime.Input {
	return []runtime.Input{
		read.ConfigInput,
		{Namespace: network.NamespaceName, Type: network.HostnameType, ID: network.HostnameID},
		{Namespace: network.NamespaceName, Type: network.NodeAddressesType, ID: network.NodeAddressesID},
	}
}

// Outputs implements runtime.Controller.
func (*PKIController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: k8s.CertificatesType}}
}

// Run implements runtime.Controller.
func (c *PKIController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	if c.Now == nil {
		c.Now = time.Now
	}

	c.RecheckInterval = cmp.Or(c.RecheckInterval, DefaultPKIRecheck)
	c.RetryInterval = cmp.Or(c.RetryInterval, DefaultPKIRetry)

	timer := time.NewTimer(time.Hour)
	timer.Stop()

	defer timer.Stop()

	var lastProblem string

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		case <-timer.C:
		}

		wait, problem, err := c.reconcile(ctx, r, logger)
		if err != nil {
			return err
		}

		if problem != "" && problem != lastProblem {
			logger.Warn("kubernetes certificates not issued", "error", problem, "retry_in", wait)
		}

		lastProblem = problem

		timer.Stop()

		if wait > 0 {
			timer.Reset(wait)
		}
	}
}

// reconcile brings the files and the resource in step. It returns the
// sleep before the next check (0: until an input changes) and the reason
// nothing could be issued, if any.
func (c *PKIController) reconcile(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) (time.Duration, string, error) {
	cfg, err := read.MachineConfig(ctx, r)
	if err != nil {
		return 0, "", err
	}

	if cfg == nil || cfg.Machine == nil || cfg.Cluster == nil || cfg.Cluster.CA == nil || len(cfg.Cluster.CA.Crt) == 0 {
		return 0, "", c.teardown(ctx, r, logger)
	}

	if cfg.Machine.Type != v1alpha1.TypeControlPlane {
		return 0, "", c.worker(ctx, r, cfg)
	}

	host, err := read.Typed[network.HostnameSpec](ctx, r, network.NewHostname().Metadata().Ref())
	if err != nil {
		return 0, "", err
	}

	addrs, err := read.Typed[network.NodeAddressesSpec](ctx, r, network.NewNodeAddresses().Metadata().Ref())
	if err != nil || host == nil || addrs == nil {
		return 0, "", err
	}

	p, err := newPKIPlan(cfg, *host.TypedSpec(), addrs.TypedSpec().Addresses)
	if err != nil {
		return 0, err.Error(), nil // a config problem: wait for the next config
	}

	cur, err := read.Typed[k8s.CertificatesSpec](ctx, r, k8s.NewCertificates().Metadata().Ref())
	if err != nil {
		return 0, "", err
	}

	var spec k8s.CertificatesSpec
	if cur != nil {
		spec = *cur.TypedSpec()
	}

	next, reasons, err := reissue(spec, p, c.Now)
	if err != nil {
		return c.RetryInterval, err.Error(), nil
	}

	if err := c.publish(ctx, r, p, next); err != nil {
		return 0, "", err
	}

	if len(reasons) > 0 {
		logger.Info("kubernetes certificates issued", "certificates", strings.Join(reasons, "; "),
			"ips", next.IPs, "dns_names", next.DNSNames)
	}

	wait := min(c.RecheckInterval, max(nextRenewal(&next).Sub(c.Now()), time.Second))

	return wait, "", nil
}

// publish writes the control plane's files, then the resource.
func (c *PKIController) publish(ctx context.Context, r runtime.ControllerRuntime, p pkiPlan, next k8s.CertificatesSpec) error {
	files, err := controlPlaneFiles(p, &next)
	if err != nil {
		return err
	}

	if err := writeSecretFiles(c.Root, files); err != nil {
		return err
	}

	next.Hash = hashFiles(files)

	err = runtime.ModifyTyped(ctx, r, k8s.NewCertificates(), func(res *k8s.Certificates) error {
		*res.TypedSpec() = next

		return nil
	})
	if err != nil {
		return fmt.Errorf("kubernetes certificates: %w", err)
	}

	return nil
}

// worker writes the cluster CA certificate only, for kubelet.
func (c *PKIController) worker(ctx context.Context, r runtime.ControllerRuntime, cfg *v1alpha1.MachineConfig) error {
	if err := removeSecretFiles(c.Root, controlPlanePaths...); err != nil {
		return err
	}

	files := []secretFile{{Path: CACertPath, Data: cfg.Cluster.CA.Crt, Mode: publicMode}}
	if err := writeSecretFiles(c.Root, files); err != nil {
		return err
	}

	err := runtime.ModifyTyped(ctx, r, k8s.NewCertificates(), func(res *k8s.Certificates) error {
		*res.TypedSpec() = k8s.CertificatesSpec{CA: string(cfg.Cluster.CA.Crt), Hash: hashFiles(files)}

		return nil
	})
	if err != nil {
		return fmt.Errorf("kubernetes certificates: %w", err)
	}

	return nil
}

// teardown removes the resource and every file: the node has no config
// (or no cluster CA).
func (c *PKIController) teardown(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	tr := runtime.NewOutputTracker(r, k8s.NamespaceName, k8s.CertificatesType)
	if err := tr.Cleanup(ctx); err != nil {
		return fmt.Errorf("kubernetes certificates: %w", err)
	}

	if err := removeSecretFiles(c.Root, append([]string{CACertPath}, controlPlanePaths...)...); err != nil {
		return err
	}

	logger.Debug("kubernetes certificates removed")

	return nil
}

// controlPlaneFiles renders every file of a control plane from the plan
// and the issued certificates.
func controlPlaneFiles(p pkiPlan, s *k8s.CertificatesSpec) ([]secretFile, error) {
	enc, err := encryptionConfig(p.secretbox)
	if err != nil {
		return nil, err
	}

	ca := []byte(p.caPEM)

	out := []secretFile{
		{Path: CACertPath, Data: ca, Mode: publicMode},
		{Path: CAKeyPath, Data: p.caKeyPEM, Mode: privateMode},
		{Path: FrontProxyCACertPath, Data: []byte(p.aggregatorPEM), Mode: publicMode},
		{Path: ServiceAccountKeyPath, Data: p.saKey, Mode: privateMode},
		{Path: ServiceAccountPubPath, Data: p.saPub, Mode: publicMode},
		{Path: EncryptionConfigPath, Data: enc, Mode: privateMode},
		{Path: KubeletClientCertPath, Data: []byte(s.APIServerKubeletClient.Crt), Mode: publicMode},
		{Path: KubeletClientKeyPath, Data: []byte(s.APIServerKubeletClient.Key), Mode: privateMode},
		{Path: FrontProxyClientCertPath, Data: []byte(s.FrontProxyClient.Crt), Mode: publicMode},
		{Path: FrontProxyClientKeyPath, Data: []byte(s.FrontProxyClient.Key), Mode: privateMode},
		{Path: AdminCertPath, Data: []byte(s.Admin.Crt), Mode: publicMode},
		{Path: AdminKeyPath, Data: []byte(s.Admin.Key), Mode: privateMode},
	}

	for _, kc := range []struct {
		path, user string
		ck         k8s.CertAndKey
	}{
		{AdminKubeconfigPath, AdminUser, s.Admin},
		{ControllerManagerKubeconfigPath, ControllerManagerUser, s.ControllerManager},
		{SchedulerKubeconfigPath, SchedulerUser, s.Scheduler},
	} {
		data, err := renderKubeconfig(p.cluster.name, LocalAPIServer, kc.user, ca, []byte(kc.ck.Crt), []byte(kc.ck.Key))
		if err != nil {
			return nil, err
		}

		out = append(out, secretFile{Path: kc.path, Data: data, Mode: privateMode})
	}

	// The serving certificate last: kube-apiserver starts once it exists.
	return append(out,
		secretFile{Path: APIServerKeyPath, Data: []byte(s.APIServer.Key), Mode: privateMode},
		secretFile{Path: APIServerCertPath, Data: []byte(s.APIServer.Crt), Mode: publicMode},
	), nil
}
