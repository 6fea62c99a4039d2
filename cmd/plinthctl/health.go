package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
	resourceapi "github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/pkg/machinery/client"
	"github.com/plinth-os/plinth/pkg/machinery/client/kubeconfig"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
)

func init() { registerCommand(newHealthCmd) }

// healthFlags are the flags of `plinthctl health`.
type healthFlags struct {
	// WaitTimeout bounds the whole wait.
	WaitTimeout time.Duration
	// ControlPlanes and Workers name the nodes by role; by default the
	// nodes of -n or of the context, asked for their machine type.
	ControlPlanes []string
	Workers       []string
	// K8sEndpoint replaces the kubeconfig's API server URL.
	K8sEndpoint string
}

func newHealthCmd(g *globalFlags) *cobra.Command {
	f := &healthFlags{}
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Wait until the cluster is healthy, showing each check",
		Long: `Check the cluster from this client, in order, waiting for each check to
pass: etcd answers on every control plane with a leader, its members are the
control planes, the control-plane services and every node's kubelet run and
are healthy, the Kubernetes API answers, every node is registered and Ready,
and CoreDNS is ready. Each check prints "waiting for ...: OK" when it passes,
and what it waits for while it does not.

Nodes are those of -n or of the context, asked for their machine type, or
those of --control-plane-nodes and --worker-nodes. The Kubernetes API is
read with an admin kubeconfig fetched from the first control plane, at its
control-plane endpoint unless --k8s-endpoint says otherwise.`,
		Example: `  plinthctl health
  plinthctl health --control-plane-nodes 10.5.0.2 --worker-nodes 10.5.0.3 --wait-timeout 10m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.WaitTimeout <= 0 {
				return fmt.Errorf("--wait-timeout %s: expected a positive duration", f.WaitTimeout)
			}
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			ctx, cancel := context.WithTimeout(cmd.Context(), f.WaitTimeout)
			defer cancel()
			nodes, err := f.nodes(ctx, nc)
			if err != nil {
				return err
			}
			h := &healthChecker{c: nc.c, nodes: nodes, k8sServer: f.K8sEndpoint, out: cmd.OutOrStdout()}
			defer h.close()
			return h.run(ctx)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&f.WaitTimeout, "wait-timeout", 5*time.Minute, "how long to wait for the cluster to be healthy")
	fl.StringSliceVar(&f.ControlPlanes, "control-plane-nodes", nil, "control-plane nodes (default: asked from the nodes of -n or the context)")
	fl.StringSliceVar(&f.Workers, "worker-nodes", nil, "worker nodes")
	fl.StringVar(&f.K8sEndpoint, "k8s-endpoint", "", "Kubernetes API URL to use instead of the cluster's control-plane endpoint")
	return cmd
}

// clusterNodes are a cluster's nodes by role.
type clusterNodes struct {
	controlPlanes, workers []string
}

func (n clusterNodes) all() []string { return append(slices.Clone(n.controlPlanes), n.workers...) }

// nodes returns the nodes to check: the flags', or those of -n or the
// context by their machine type.
func (f *healthFlags) nodes(ctx context.Context, nc *nodeConn) (clusterNodes, error) {
	if len(f.ControlPlanes) > 0 {
		return clusterNodes{controlPlanes: f.ControlPlanes, workers: f.Workers}, nil
	}
	if len(f.Workers) > 0 {
		return clusterNodes{}, errors.New("--worker-nodes needs --control-plane-nodes")
	}
	if len(nc.nodes) == 0 {
		return clusterNodes{}, errors.New("no nodes to check: give them with -n (or --control-plane-nodes and --worker-nodes), or use a context that lists them")
	}
	resp, err := nc.c.Resources.Get(client.WithNodes(ctx, nc.nodes...), &resourceapi.GetRequest{Type: resconfig.MachineTypeType, Id: resconfig.MachineTypeID})
	if err != nil {
		return clusterNodes{}, nc.callError("machine types", err)
	}
	items, failed := client.Items(resp.GetMessages())
	if len(failed) > 0 {
		return clusterNodes{}, fmt.Errorf("machine type of %w", failed[0])
	}
	var out clusterNodes
	for _, item := range items {
		var spec resconfig.MachineTypeSpec
		if err := yaml.Unmarshal(item.GetResource().GetSpec(), &spec); err != nil {
			return clusterNodes{}, fmt.Errorf("machine type of node %s: %w", nc.name(item.GetMetadata()), err)
		}
		node := nc.name(item.GetMetadata())
		if spec.Type == "controlplane" {
			out.controlPlanes = append(out.controlPlanes, node)
		} else {
			out.workers = append(out.workers, node)
		}
	}
	if len(out.controlPlanes) == 0 {
		return clusterNodes{}, fmt.Errorf("none of %s is a control plane: add one with -n", strings.Join(nc.nodes, ", "))
	}
	return out, nil
}

// healthPollInterval is how often a failing check is tried again; tests
// shorten it.
var healthPollInterval = time.Second

// healthAttemptTimeout bounds one try of a check.
const healthAttemptTimeout = 15 * time.Second

// healthChecker runs the health checks of a cluster through a client of
// its node API.
type healthChecker struct {
	c         *client.Client
	nodes     clusterNodes
	k8sServer string
	out       io.Writer

	api    *kubeconfig.APIClient // once the kubeconfig is fetched
	noDNS  bool                  // CoreDNS is disabled in the config
	config bool                  // the config was read
}

// healthCheck is one named check; it returns why it does not pass yet.
type healthCheck struct {
	name string
	fn   func(ctx context.Context) error
}

func (h *healthChecker) checks() []healthCheck {
	return []healthCheck{
		{"etcd to be healthy", h.etcdHealthy},
		{"etcd members to be the control planes", h.etcdMembers},
		{"control-plane services to be healthy", h.controlPlaneServices},
		{"kubelet to be healthy on every node", h.kubelets},
		{"the Kubernetes API to answer", h.apiAnswers},
		{"all nodes to register in Kubernetes", h.nodesRegistered},
		{"all nodes to be Ready", h.nodesReady},
		{"CoreDNS to be ready", h.coreDNSReady},
	}
}

// run runs the checks in order, each until it passes or ctx ends.
func (h *healthChecker) run(ctx context.Context) error {
	for _, chk := range h.checks() {
		if err := h.wait(ctx, chk); err != nil {
			return err
		}
	}
	return nil
}

// wait tries chk until it passes, printing its reasons as they change.
func (h *healthChecker) wait(ctx context.Context, chk healthCheck) error {
	var last string
	for {
		actx, cancel := context.WithTimeout(ctx, healthAttemptTimeout)
		err := chk.fn(actx)
		cancel()
		if err == nil {
			fmt.Fprintf(h.out, "waiting for %s: OK\n", chk.name)
			return nil
		}
		if ended(ctx) {
			// This try was cut short by the deadline: the last says more.
			cause := ctx.Err()
			if cause == nil {
				cause = context.DeadlineExceeded
			}
			if last == "" {
				last = err.Error()
			}
			return fmt.Errorf("waiting for %s: %w (last: %s)", chk.name, cause, last)
		}
		if msg := err.Error(); msg != last {
			fmt.Fprintf(h.out, "waiting for %s: %s\n", chk.name, msg)
			last = msg
		}
		select {
		case <-ctx.Done():
		case <-time.After(healthPollInterval):
		}
	}
}

// onNodes aims a call at nodes: one node is proxied to (its errors come
// back as they are), several are fanned out to.
func onNodes(ctx context.Context, nodes []string) context.Context {
	if len(nodes) == 1 {
		return client.WithNode(ctx, nodes[0])
	}
	return client.WithNodes(ctx, nodes...)
}

// callError words the error of a whole call, naming the node when there
// was one.
func callError(nodes []string, err error) error {
	if len(nodes) == 1 {
		return fmt.Errorf("node %s: %w", nodes[0], apiError{err})
	}
	return apiError{err}
}

func (h *healthChecker) close() {
	if h.api != nil {
		h.api.Close()
	}
}

// etcdHealthy: every control plane's member answers, without errors and
// with a leader.
func (h *healthChecker) etcdHealthy(ctx context.Context) error {
	resp, err := h.c.Machine.EtcdStatus(onNodes(ctx, h.nodes.controlPlanes), &emptypb.Empty{})
	if err != nil {
		return callError(h.nodes.controlPlanes, err)
	}
	items, failed := client.Items(resp.GetMessages())
	if len(failed) > 0 {
		return failed[0]
	}
	for _, item := range items {
		st := item.GetMemberStatus()
		switch {
		case len(st.GetErrors()) > 0:
			return fmt.Errorf("node %s: etcd reports %s", client.NodeName(item.GetMetadata()), strings.Join(st.GetErrors(), "; "))
		case st.GetLeader() == 0:
			return fmt.Errorf("node %s: etcd has no leader", client.NodeName(item.GetMetadata()))
		}
	}
	return nil
}

// etcdMembers: every control plane sees one voting member per control
// plane.
func (h *healthChecker) etcdMembers(ctx context.Context) error {
	resp, err := h.c.Machine.EtcdMemberList(onNodes(ctx, h.nodes.controlPlanes), &machine.EtcdMemberListRequest{})
	if err != nil {
		return callError(h.nodes.controlPlanes, err)
	}
	items, failed := client.Items(resp.GetMessages())
	if len(failed) > 0 {
		return failed[0]
	}
	for _, item := range items {
		node := client.NodeName(item.GetMetadata())
		members := item.GetMembers()
		if len(members) != len(h.nodes.controlPlanes) {
			return fmt.Errorf("node %s: etcd has %s, want one per control plane (%d)", node, plural(len(members), "member"), len(h.nodes.controlPlanes))
		}
		for _, mb := range members {
			if mb.GetIsLearner() {
				return fmt.Errorf("node %s: etcd member %s is still a learner", node, mb.GetHostname())
			}
		}
	}
	return nil
}

// Services a node must run, by role.
var (
	controlPlaneServices = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"}
	nodeServices         = []string{"kubelet"}
)

// controlPlaneServices: the control-plane services run and are healthy.
func (h *healthChecker) controlPlaneServices(ctx context.Context) error {
	return h.servicesHealthy(ctx, h.nodes.controlPlanes, controlPlaneServices)
}

// kubelets: kubelet (and kube-proxy where it runs) on every node.
func (h *healthChecker) kubelets(ctx context.Context) error {
	return h.servicesHealthy(ctx, h.nodes.all(), nodeServices)
}

// servicesHealthy checks that nodes run the required services and that
// none of their services (kube-proxy included) is unhealthy.
func (h *healthChecker) servicesHealthy(ctx context.Context, nodes, required []string) error {
	resp, err := h.c.Machine.ServiceList(onNodes(ctx, nodes), &emptypb.Empty{})
	if err != nil {
		return callError(nodes, err)
	}
	items, failed := client.Items(resp.GetMessages())
	if len(failed) > 0 {
		return failed[0]
	}
	for _, item := range items {
		node := client.NodeName(item.GetMetadata())
		byID := map[string]bool{}
		for _, s := range item.GetServices() {
			byID[s.GetId()] = true
			if !slices.Contains(required, s.GetId()) && s.GetId() != "kube-proxy" {
				continue
			}
			hl := s.GetHealth()
			switch {
			case s.GetState() != "Running":
				return fmt.Errorf("node %s: service %s is %s", node, s.GetId(), s.GetState())
			case !hl.GetUnknown() && !hl.GetHealthy():
				return fmt.Errorf("node %s: service %s is unhealthy: %s", node, s.GetId(), hl.GetLastMessage())
			}
		}
		for _, id := range required {
			if !byID[id] {
				return fmt.Errorf("node %s: no service %s yet", node, id)
			}
		}
	}
	return nil
}
