// Package etcd holds the controllers of the etcd member of a control-plane
// node: its certificates (PKIController), its service and membership
// (ServiceController), and the Bootstrap call that starts a new cluster.
package etcd

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"path/filepath"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
	rt "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// ServiceID is the id of etcd's service and ServiceConfig.
const ServiceID = "etcd"

// Roles of the local member in EtcdStatus.
const (
	// RoleBootstrap: this node bootstrapped the cluster.
	RoleBootstrap = "bootstrap"
	// RoleJoin: this node joins (or joined) a cluster another node bootstrapped.
	RoleJoin = "join"
)

// Defaults of ServiceController.
const (
	DefaultPollInterval   = 2 * time.Second
	DefaultSteadyInterval = 15 * time.Second
	DefaultRequestTimeout = 5 * time.Second
)

// ServiceController runs the etcd member of a control plane, once the node
// bootstrapped the cluster or can join it, and reports on it:
//
//	worker, no config ──▶ nothing (ServiceConfig, status, members removed)
//	control plane ──certificates──▶ waiting
//	waiting ──Bootstrap call──▶ ServiceConfig, --initial-cluster-state new ─────────┐
//	waiting ──data in /var/lib/etcd──▶ ServiceConfig, no initial cluster ──────────┤
//	waiting ──a member answers at the endpoint host:2379──▶ joining                │
//	joining ──MemberAddAsLearner──▶ ServiceConfig, --initial-cluster-state existing ┤
//	                                                                                ▼
//	starting ──etcd answers──▶ learner ──MemberPromote (retried)──▶ running ◀─────┘
//
// How the member starts is decided once per run and kept, so etcd is not
// restarted when its data directory appears. While converging it polls every
// PollInterval, then every SteadyInterval, publishing EtcdStatus and one
// EtcdMember per member.
type ServiceController struct {
	// Root is the file-system root (STATE and /var are found under it).
	Root string
	// Dial connects to etcd; nil means Dial.
	Dial Dialer
	// PollInterval, SteadyInterval and RequestTimeout; see the defaults.
	PollInterval, SteadyInterval, RequestTimeout time.Duration
}

// Name implements runtime.Controller.
func (*ServiceController) Name() string { return "etcd.ServiceController" }

// Inputs implements runtime.Controller.
func (*ServiceController) Inputs() []runtime.Input {
	return []runtime.Input{
		read.ConfigInput,
		{Namespace: network.NamespaceName, Type: network.HostnameType, ID: network.HostnameID},
		{Namespace: network.NamespaceName, Type: network.NodeAddressesType, ID: network.NodeAddressesID},
		{Namespace: etcd.NamespaceName, Type: etcd.CertificatesType, ID: etcd.CertificatesID},
		{Namespace: etcd.NamespaceName, Type: etcd.BootstrapType, ID: etcd.BootstrapID},
		{Namespace: rt.NamespaceName, Type: rt.ServiceType, ID: ServiceID},
	}
}

// Outputs implements runtime.Controller.
func (*ServiceController) Outputs() []runtime.Output {
	return []runtime.Output{
		{Type: rt.ServiceConfigType, Kind: runtime.OutputShared},
		{Type: etcd.StatusType},
		{Type: etcd.MemberType},
	}
}

// Run implements runtime.Controller.
func (c *ServiceController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	if c.Dial == nil {
		c.Dial = Dial
	}

	c.PollInterval = cmp.Or(c.PollInterval, DefaultPollInterval)
	c.SteadyInterval = cmp.Or(c.SteadyInterval, DefaultSteadyInterval)
	c.RequestTimeout = cmp.Or(c.RequestTimeout, DefaultRequestTimeout)

	st := &runState{dial: c.Dial}
	defer st.close()

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

		wait, err := c.reconcile(ctx, r, logger, st)
		if err != nil {
			return err
		}

		timer.Stop()

		if wait > 0 {
			timer.Reset(wait)
		}
	}
}

// inputs are what one reconcile reads.
type inputs struct {
	cfg   *v1alpha1.MachineConfig
	host  *network.Hostname
	addrs *network.NodeAddresses
	certs *etcd.Certificates
	boot  *etcd.Bootstrap
}

func readInputs(ctx context.Context, r runtime.Reader) (inputs, error) {
	var (
		in  inputs
		err error
	)

	if in.cfg, err = read.MachineConfig(ctx, r); err != nil {
		return in, err
	}

	if in.host, err = read.Typed[network.HostnameSpec](ctx, r, network.NewHostname().Metadata().Ref()); err != nil {
		return in, err
	}

	if in.addrs, err = read.Typed[network.NodeAddressesSpec](ctx, r, network.NewNodeAddresses().Metadata().Ref()); err != nil {
		return in, err
	}

	if in.certs, err = read.Typed[etcd.CertificatesSpec](ctx, r, etcd.NewCertificates().Metadata().Ref()); err != nil {
		return in, err
	}

	in.boot, err = read.Typed[etcd.BootstrapSpec](ctx, r, etcd.NewBootstrap().Metadata().Ref())

	return in, err
}

// reconcile returns how long to wait before the next check (0: until an
// input changes).
func (c *ServiceController) reconcile(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger, st *runState) (time.Duration, error) {
	in, err := readInputs(ctx, r)
	if err != nil {
		return 0, err
	}

	if in.cfg == nil || in.cfg.Machine == nil || in.cfg.Machine.Type != v1alpha1.TypeControlPlane {
		st.reset()

		return 0, c.teardown(ctx, r)
	}

	if in.host == nil || in.addrs == nil || in.certs == nil {
		return 0, writeStatus(ctx, r, etcd.StatusSpec{Phase: etcd.PhaseWaiting, Message: "waiting for the etcd certificates"})
	}

	var subnets, extra = []string(nil), map[string]string(nil)
	if e := in.cfg.Cluster.Etcd; e != nil {
		subnets, extra = e.AdvertisedSubnets, e.ExtraArgs
	}

	ip, err := advertisedIP(nodeAddresses(in.addrs.TypedSpec().Addresses, clusterRanges(in.cfg.Cluster)), subnets)
	if err != nil {
		return 0, writeStatus(ctx, r, etcd.StatusSpec{Phase: etcd.PhaseWaiting, Message: err.Error()})
	}

	bootstrapped, err := Bootstrapped(c.Root)
	if err != nil {
		return 0, err
	}

	bootstrapped = bootstrapped || (in.boot != nil && in.boot.TypedSpec().Bootstrapped)
	role := map[bool]string{true: RoleBootstrap, false: RoleJoin}[bootstrapped]
	args := argsInput{name: in.host.TypedSpec().Hostname, ip: ip, extraArgs: extra}
	base := etcd.StatusSpec{Role: role, AdvertisedIP: ip.String()}

	if err := st.useCerts(in.certs.TypedSpec()); err != nil {
		return 0, err
	}

	st.selfPeerURL = args.peerURL()
	st.clusterEndpoint, _ = joinEndpoint(in.cfg.Cluster) //nolint:errcheck // checked where a join needs it

	if st.initial == nil {
		wait, err := c.decideStart(ctx, r, logger, st, in, args, bootstrapped, base)
		if err != nil || st.initial == nil {
			return wait, err
		}
	}

	args.initial = *st.initial

	if err := writeServiceConfig(ctx, r, args, in.certs.TypedSpec().Hash); err != nil {
		return 0, err
	}

	return c.observe(ctx, r, logger, st, base)
}

// decideStart sets st.initial: how the member starts. It leaves it nil
// (and returns the wait) while there is nothing to start or join yet.
func (c *ServiceController) decideStart(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger,
	st *runState, in inputs, args argsInput, bootstrapped bool, base etcd.StatusSpec,
) (time.Duration, error) {
	hasData, err := exists(filepath.Join(c.Root, DataDir, "member"))
	if err != nil {
		return 0, err
	}

	switch {
	case hasData:
		st.initial = &initialCluster{}

		logger.Info("etcd starts from its data", "role", base.Role)
	case bootstrapped:
		st.initial = &initialCluster{members: args.name + "=" + args.peerURL(), state: stateNew}

		logger.Info("etcd bootstraps a new cluster", "peer_url", args.peerURL())
	default:
		endpoint, err := joinEndpoint(in.cfg.Cluster)
		if err != nil {
			return 0, writeStatus(ctx, r, with(base, etcd.PhaseWaiting, err.Error()))
		}

		if isSelf(endpoint, in.addrs.TypedSpec().Addresses) {
			// The endpoint is this node: there is nobody to join.
			return 0, writeStatus(ctx, r, with(base, etcd.PhaseWaiting,
				"waiting for bootstrap: the control-plane endpoint is this node"))
		}

		rctx, cancel := context.WithTimeout(ctx, c.RequestTimeout)
		defer cancel()

		initial, msg, err := st.join(rctx, endpoint, args.name, args.peerURL())
		if err != nil {
			s := with(base, etcd.PhaseWaiting, fmt.Sprintf("waiting for bootstrap or for an etcd member at %s: %v", endpoint, err))
			if msg != "" {
				s = with(base, etcd.PhaseJoining, msg+": "+err.Error())
			}

			return c.PollInterval, writeStatus(ctx, r, s)
		}

		st.initial = &initial

		logger.Info("etcd joins the cluster", "via", endpoint, "initial_cluster", initial.members)
	}

	return 0, nil
}

// observe asks the local member how it is, promotes it when it is a
// learner, and publishes the status and the members.
func (c *ServiceController) observe(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger,
	st *runState, base etcd.StatusSpec,
) (time.Duration, error) {
	rctx, cancel := context.WithTimeout(ctx, c.RequestTimeout)
	defer cancel()

	s, err := st.localStatus(rctx)
	if err != nil {
		return c.PollInterval, writeStatus(ctx, r, with(base, etcd.PhaseStarting, "waiting for etcd to answer: "+err.Error()))
	}

	out := with(base, etcd.PhaseRunning, "")
	out.MemberID, out.Version, out.Healthy = hexID(s.MemberID), s.Version, len(s.Errors) == 0 && s.Leader != 0

	if s.Leader != 0 {
		out.Leader = hexID(s.Leader)
	}

	if len(s.Errors) > 0 {
		out.Message = fmt.Sprint(s.Errors)
	}

	members, err := st.members(rctx, s.Learner)
	if err == nil {
		err = writeMembers(ctx, r, members)
	}

	if err != nil {
		out.Message = err.Error()
	}

	if s.Learner {
		out.Phase, out.Message = etcd.PhaseLearner, "learner, catching up with the leader"

		if err := st.promote(rctx, s.MemberID); err != nil {
			out.Message += ": " + err.Error()
		} else {
			logger.Info("etcd member promoted", "member", out.MemberID)

			out.Phase, out.Message = etcd.PhaseRunning, ""
		}
	}

	wait := c.SteadyInterval
	if out.Phase != etcd.PhaseRunning || !out.Healthy {
		wait = c.PollInterval
	}

	return wait, writeStatus(ctx, r, out)
}

// teardown removes the outputs; etcd's data stays.
func (c *ServiceController) teardown(ctx context.Context, r runtime.ControllerRuntime) error {
	for _, tr := range []*runtime.OutputTracker{
		runtime.NewOutputTracker(r, rt.NamespaceName, rt.ServiceConfigType),
		runtime.NewOutputTracker(r, etcd.NamespaceName, etcd.StatusType, etcd.MemberType),
	} {
		if err := tr.Cleanup(ctx); err != nil {
			return fmt.Errorf("etcd: %w", err)
		}
	}

	return nil
}

// joinEndpoint is the etcd client URL of the controlPlane.endpoint host,
// where a joining member finds the cluster.
func joinEndpoint(c *v1alpha1.Cluster) (string, error) {
	if c == nil || c.ControlPlane == nil {
		return "", fmt.Errorf("cluster.controlPlane.endpoint is not set")
	}

	u, err := url.Parse(c.ControlPlane.Endpoint)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("cluster.controlPlane.endpoint %q is not a URL with a host", c.ControlPlane.Endpoint)
	}

	return (&url.URL{Scheme: "https", Host: joinHostPort(u.Hostname(), ClientPort)}).String(), nil
}

// isSelf reports whether the host of the URL endpoint is one of the
// node's addresses (CIDR strings).
func isSelf(endpoint string, addresses []string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}

	ip, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return false
	}

	for _, a := range addresses {
		if p, err := netip.ParsePrefix(a); err == nil && p.Addr().Unmap() == ip.Unmap() {
			return true
		}
	}

	return false
}

func with(s etcd.StatusSpec, phase, msg string) etcd.StatusSpec {
	s.Phase, s.Message = phase, msg

	return s
}

// writeStatus writes EtcdStatus (no new version when nothing changed).
func writeStatus(ctx context.Context, r runtime.ReadWriter, s etcd.StatusSpec) error {
	err := runtime.ModifyTyped(ctx, r, etcd.NewStatus(), func(res *etcd.Status) error {
		*res.TypedSpec() = s

		return nil
	})
	if err != nil {
		return fmt.Errorf("etcd status: %w", err)
	}

	return nil
}

// writeServiceConfig writes etcd's ServiceConfig.
func writeServiceConfig(ctx context.Context, r runtime.ReadWriter, in argsInput, hash string) error {
	err := runtime.ModifyTyped(ctx, r, rt.NewServiceConfig(ServiceID), func(res *rt.ServiceConfig) error {
		*res.TypedSpec() = serviceSpec(in, hash)

		return nil
	})
	if err != nil {
		return fmt.Errorf("etcd service config: %w", err)
	}

	return nil
}

// serviceSpec is etcd's ServiceConfig.
func serviceSpec(in argsInput, hash string) rt.ServiceConfigSpec {
	return rt.ServiceConfigSpec{
		Args:      etcdArgs(in),
		WaitFiles: []string{CACertPath, ServerCertPath, PeerCertPath},
		HealthCheck: &rt.HealthCheck{
			URL: LocalClientURL + "/health", CAFile: CACertPath, CertFile: ClientCertPath, KeyFile: ClientKeyPath,
		},
		ConfigHash: hash,
	}
}

// writeMembers publishes one EtcdMember per member and removes the others.
func writeMembers(ctx context.Context, r runtime.ControllerRuntime, members []member) error {
	tr := runtime.NewOutputTracker(r, etcd.NamespaceName, etcd.MemberType)

	for _, m := range members {
		id := hexID(m.ID)

		err := tr.Modify(ctx, etcd.NewMember(id), func(res resource.Resource) error {
			spec := res.(*etcd.Member).TypedSpec()
			*spec = etcd.MemberSpec{ID: id, Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs, Learner: m.Learner}

			return nil
		})
		if err != nil {
			return fmt.Errorf("etcd members: %w", err)
		}
	}

	if err := tr.Cleanup(ctx); err != nil {
		return fmt.Errorf("etcd members: %w", err)
	}

	return nil
}
