package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// Lifetimes of etcd's certificates.
const (
	CertValidity    = 365 * 24 * time.Hour
	CertRenewBefore = 30 * 24 * time.Hour
)

// Client identities of etcd's certificates.
const (
	// APIServerClientName is kube-apiserver's name towards etcd.
	APIServerClientName = "kube-apiserver-etcd-client"
	// ClientName is machined's name towards etcd.
	ClientName = "plinth:etcd-client"
)

// PKIController issues the certificates of the node's etcd member from
// cluster.etcd.ca on control planes and writes them under SecretsDir,
// summarised in the sensitive EtcdCertificates resource:
//
//	no config, worker ──▶ nothing (files and resource removed)
//	control plane ──Hostname, NodeAddresses──▶ issue ──▶ issued
//	issued ──SANs or CA change, renewal due──▶ issue again
//
// The server and peer certificates name every node address, the loopbacks,
// localhost and the hostname, and serve both TLS sides (etcd dials itself
// and its peers with them). Keys are new at every issue.
type PKIController struct {
	// Root is the file-system root the files are written under.
	Root string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RecheckInterval is the longest sleep between renewal checks (default
	// one minute).
	RecheckInterval time.Duration
}

// Name implements runtime.Controller.
func (*PKIController) Name() string { return "etcd.PKIController" }

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
	return []runtime.Output{{Type: etcd.CertificatesType}}
}

// Run implements runtime.Controller.
func (c *PKIController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	if c.Now == nil {
		c.Now = time.Now
	}

	if c.RecheckInterval == 0 {
		c.RecheckInterval = time.Minute
	}

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
			logger.Warn("etcd certificates not issued", "error", problem)
		}

		lastProblem = problem

		timer.Stop()

		if wait > 0 {
			timer.Reset(wait)
		}
	}
}

func (c *PKIController) reconcile(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) (time.Duration, string, error) {
	cfg, err := read.MachineConfig(ctx, r)
	if err != nil {
		return 0, "", err
	}

	if cfg == nil || cfg.Machine == nil || cfg.Machine.Type != v1alpha1.TypeControlPlane {
		return 0, "", c.teardown(ctx, r)
	}

	host, err := read.Typed[network.HostnameSpec](ctx, r, network.NewHostname().Metadata().Ref())
	if err != nil {
		return 0, "", err
	}

	addrs, err := read.Typed[network.NodeAddressesSpec](ctx, r, network.NewNodeAddresses().Metadata().Ref())
	if err != nil || host == nil || addrs == nil {
		return 0, "", err
	}

	ca, err := etcdCA(cfg.Cluster)
	if err != nil {
		return 0, err.Error(), nil
	}

	cur, err := read.Typed[etcd.CertificatesSpec](ctx, r, etcd.NewCertificates().Metadata().Ref())
	if err != nil {
		return 0, "", err
	}

	var spec etcd.CertificatesSpec
	if cur != nil {
		spec = *cur.TypedSpec()
	}

	ips, names := memberSANs(*host.TypedSpec(), nodeAddresses(addrs.TypedSpec().Addresses, clusterRanges(cfg.Cluster)))

	next, reasons, err := reissue(spec, ca, string(cfg.Cluster.Etcd.CA.Crt), ips, names, c.Now)
	if err != nil {
		return c.RecheckInterval, err.Error(), nil
	}

	files := certFiles(&next)
	if err := writeFiles(c.Root, files); err != nil {
		return 0, "", err
	}

	next.Hash = hashFiles(files)

	err = runtime.ModifyTyped(ctx, r, etcd.NewCertificates(), func(res *etcd.Certificates) error {
		*res.TypedSpec() = next

		return nil
	})
	if err != nil {
		return 0, "", fmt.Errorf("etcd certificates: %w", err)
	}

	if len(reasons) > 0 {
		logger.Info("etcd certificates issued", "certificates", strings.Join(reasons, "; "), "ips", ips, "dns_names", names)
	}

	return min(c.RecheckInterval, max(nextRenewal(&next).Sub(c.Now()), time.Second)), "", nil
}

func (c *PKIController) teardown(ctx context.Context, r runtime.ControllerRuntime) error {
	if err := runtime.NewOutputTracker(r, etcd.NamespaceName, etcd.CertificatesType).Cleanup(ctx); err != nil {
		return fmt.Errorf("etcd certificates: %w", err)
	}

	return removeFiles(c.Root, allPaths...)
}

// etcdCA parses cluster.etcd.ca.
func etcdCA(c *v1alpha1.Cluster) (*pki.CA, error) {
	if c == nil || c.Etcd == nil || c.Etcd.CA == nil || len(c.Etcd.CA.Key) == 0 {
		return nil, errors.New("cluster.etcd.ca is missing on a control plane")
	}

	ca, err := pki.ParseCA(c.Etcd.CA)
	if err != nil {
		return nil, fmt.Errorf("cluster.etcd.ca: %w", err)
	}

	return ca, nil
}

// memberSANs are the names of the server and peer certificates.
func memberSANs(host network.HostnameSpec, addresses []string) (ips, names []string) {
	addrs := []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}

	for _, a := range addresses {
		if p, err := netip.ParsePrefix(a); err == nil {
			addrs = append(addrs, p.Addr().Unmap())
		}
	}

	slices.SortFunc(addrs, netip.Addr.Compare)

	for _, a := range slices.Compact(addrs) {
		ips = append(ips, a.String())
	}

	names = slices.DeleteFunc([]string{"localhost", host.Hostname, host.FQDN}, func(s string) bool { return s == "" })
	slices.Sort(names)

	return ips, slices.Compact(names)
}

// certFiles are the files of the spec; the server certificate last.
func certFiles(s *etcd.CertificatesSpec) []secretFile {
	return []secretFile{
		{Path: CACertPath, Data: []byte(s.CA), Mode: publicMode},
		{Path: PeerKeyPath, Data: []byte(s.Peer.Key), Mode: privateMode},
		{Path: PeerCertPath, Data: []byte(s.Peer.Crt), Mode: publicMode},
		{Path: APIServerClientKeyPath, Data: []byte(s.APIServerClient.Key), Mode: privateMode},
		{Path: APIServerClientCertPath, Data: []byte(s.APIServerClient.Crt), Mode: publicMode},
		{Path: ClientKeyPath, Data: []byte(s.Client.Key), Mode: privateMode},
		{Path: ClientCertPath, Data: []byte(s.Client.Crt), Mode: publicMode},
		{Path: ServerKeyPath, Data: []byte(s.Server.Key), Mode: privateMode},
		{Path: ServerCertPath, Data: []byte(s.Server.Crt), Mode: publicMode},
	}
}
