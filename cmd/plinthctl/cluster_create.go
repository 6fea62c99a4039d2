package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
	"github.com/plinth-os/plinth/pkg/provision"
)

// newClusterSecrets generates a new cluster's secrets; tests replace it
// to use their own CA.
var newClusterSecrets = func() (*secrets.Bundle, error) { return secrets.NewBundle() }

// clusterCreateFlags are the flags of `plinthctl cluster create`.
type clusterCreateFlags struct {
	Name          string
	ControlPlanes int
	Workers       int
	CPUs          float64
	MemoryMiB     int
	Image         string
	Subnet        string
	Provisioner   string
	Patches       []string
	PatchesCP     []string
	PatchesWorker []string
	WaitTimeout   time.Duration
	// SkipKubernetes stops once the nodes' APIs answer: no bootstrap.
	SkipKubernetes bool
	// Kubeconfig is where the admin kubeconfig is merged (default
	// $KUBECONFIG's first file or ~/.kube/config).
	Kubeconfig string
	// DiskMiB and Install are the QEMU nodes' disks (cluster_qemu.go).
	DiskMiB int
	Install bool
	// KernelArgs are the QEMU nodes' extra kernel arguments.
	KernelArgs []string
}

func newClusterCreateCmd(g *globalFlags) *cobra.Command {
	f := &clusterCreateFlags{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a local Kubernetes cluster and wait until it is healthy",
		Long: `Create a local cluster: generate its secrets and machine configs (kept in
~/.plinth/clusters/NAME), start one node per machine, deliver each node its
config over the maintenance API, wait until every node answers over mutual
TLS, bootstrap etcd on the first control plane, wait until Kubernetes is
healthy (the checks of 'plinthctl health', shown as they pass), merge an
admin kubeconfig (context admin@NAME) into ~/.kube/config or --kubeconfig,
and add a context named NAME to the client config. --skip-kubernetes stops
once the nodes' APIs answer.

With Docker (the default when a daemon answers) nodes are containers of the
node image built by 'make image-container'; their APIs, and the control
planes' Kubernetes APIs, are published on 127.0.0.1. Anything created is
removed again if a step fails.`,
		Example: `  plinthctl cluster create
  plinthctl cluster create --name demo --workers 2 --memory 4096
  plinthctl cluster create --config-patch '{"machine": {"sysctls": {"net.ipv4.ip_forward": "1"}}}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd, g) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Name, "name", defaultClusterName, "name of the cluster: prefix of node names, network and context")
	fl.IntVar(&f.ControlPlanes, "controlplanes", 1, "number of control-plane nodes")
	fl.IntVar(&f.Workers, "workers", 1, "number of worker nodes")
	fl.Float64Var(&f.CPUs, "cpus", 2, "CPUs of each node (0: no limit)")
	fl.IntVar(&f.MemoryMiB, "memory", 2048, "memory of each node in MiB (0: no limit)")
	fl.StringVar(&f.Image, "image", "", "node image (docker: default plinth/node:latest, built locally by make image-container; other provisioners: their own default)")
	fl.StringVar(&f.Subnet, "subnet", "10.5.0.0/24", "IPv4 subnet of the cluster network; the host is its first address, nodes follow")
	fl.StringVar(&f.Provisioner, "provisioner", "", "docker or qemu (default: docker when a Docker daemon answers)")
	fl.StringArrayVar(&f.Patches, "config-patch", nil, "patch applied to every machine config (@file or inline); repeatable")
	fl.StringArrayVar(&f.PatchesCP, "config-patch-control-plane", nil, "patch applied to control-plane configs; repeatable")
	fl.StringArrayVar(&f.PatchesWorker, "config-patch-worker", nil, "patch applied to worker configs; repeatable")
	fl.DurationVar(&f.WaitTimeout, "wait-timeout", 10*time.Minute, "give up (and remove the cluster) if it is not healthy within this long")
	fl.BoolVar(&f.SkipKubernetes, "skip-kubernetes", false, "stop once the nodes' APIs answer: no bootstrap, no Kubernetes")
	fl.StringVar(&f.Kubeconfig, "kubeconfig", "", "kubeconfig to merge the admin context into (default $KUBECONFIG's first file or ~/.kube/config)")
	addQemuCreateFlags(fl, f)
	return cmd
}

// check validates the flags and returns the cluster's layout.
func (f *clusterCreateFlags) check() (clusterLayout, error) {
	var errs []error
	if err := provision.CheckName(f.Name); err != nil {
		errs = append(errs, fmt.Errorf("--name: %w", err))
	}
	if f.ControlPlanes < 1 {
		errs = append(errs, fmt.Errorf("--controlplanes %d: a cluster needs at least one control plane", f.ControlPlanes))
	}
	if f.Workers < 0 {
		errs = append(errs, fmt.Errorf("--workers %d: expected 0 or more", f.Workers))
	}
	if f.CPUs < 0 || f.MemoryMiB < 0 {
		errs = append(errs, errors.New("--cpus and --memory: expected 0 (no limit) or more"))
	}
	if f.WaitTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--wait-timeout %s: expected a positive duration", f.WaitTimeout))
	}
	subnet, err := netip.ParsePrefix(f.Subnet)
	if err != nil || !subnet.Addr().Is4() {
		errs = append(errs, fmt.Errorf("--subnet %q: expected an IPv4 subnet such as 10.5.0.0/24", f.Subnet))
	}
	if err := errors.Join(errs...); err != nil {
		return clusterLayout{}, err
	}
	dir, err := provision.Dir(f.Name)
	if err != nil {
		return clusterLayout{}, err
	}
	return clusterLayout{name: f.Name, subnet: subnet.Masked(), controlPlanes: f.ControlPlanes, workers: f.Workers,
		cpus: f.CPUs, memoryMiB: f.MemoryMiB, stateDir: dir}, nil
}

// createPlan is a cluster ready to be provisioned: its nodes with their
// configs (also stored in the state directory) and the provisioner.
type createPlan struct {
	layout clusterLayout
	nodes  []provision.NodeRequest
	p      provision.Provisioner
	in     *generate.Input
	image  string
}

// plan checks the flags, picks the provisioner, generates the secrets
// and configs and stores them in the new state directory.
func (f *clusterCreateFlags) plan(ctx context.Context, warnOut io.Writer) (*createPlan, error) {
	layout, err := f.check()
	if err != nil {
		return nil, err
	}
	patches, err := loadClusterPatches(f.Patches, f.PatchesCP, f.PatchesWorker)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(layout.stateDir); err == nil {
		return nil, fmt.Errorf("cluster %s exists (%s): destroy it with `plinthctl cluster destroy --name %s`, or choose another --name",
			f.Name, layout.stateDir, f.Name)
	}
	nodes, err := layout.nodeRequests()
	if err != nil {
		return nil, err
	}
	p, err := pickProvisioner(ctx, f.Provisioner)
	if err != nil {
		return nil, err
	}
	image := f.Image
	if image == "" {
		image = provisionerImages[p.Name()]
	}
	if patches, err = f.qemuDisks(p, layout.subnet, image, patches, warnOut); err != nil {
		return nil, err
	}
	bundle, err := newClusterSecrets()
	if err != nil {
		return nil, fmt.Errorf("generate secrets: %w", err)
	}
	in := &generate.Input{ClusterName: f.Name, Endpoint: "https://" + nodes[0].IP.String() + ":6443", Secrets: bundle}
	if err := renderConfigs(in, nodes, patches, modeOf(p.Name()), warnOut); err != nil {
		return nil, err
	}
	if err := writeClusterFiles(layout.stateDir, bundle, nodes); err != nil {
		return nil, err
	}
	return &createPlan{layout: layout, nodes: nodes, p: p, in: in, image: image}, nil
}

func (f *clusterCreateFlags) run(cmd *cobra.Command, g *globalFlags) (err error) {
	start := nowFunc()
	out := cmd.OutOrStdout()
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	plan, err := f.plan(ctx, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	p := plan.p
	if p.Name() == "qemu" && !f.SkipKubernetes {
		fmt.Fprintln(out, "qemu: Kubernetes in virtual machines takes minutes under TCG (3-10 for 1+1 on a 2-core machine); --skip-kubernetes stops once the nodes' APIs answer")
	}
	fmt.Fprintf(out, "creating cluster %s with %s: %s, %s (state in %s)\n", f.Name, p.Name(),
		plural(f.ControlPlanes, "control plane"), plural(f.Workers, "worker"), plan.layout.stateDir)

	ctx, cancel := context.WithTimeout(ctx, f.WaitTimeout)
	defer cancel()
	cluster, err := p.Create(ctx, provision.ClusterRequest{
		Name: f.Name, Network: plan.layout.subnet, Nodes: plan.nodes, Image: plan.image, StateDir: plan.layout.stateDir,
	}, out)
	if err != nil {
		_ = os.RemoveAll(plan.layout.stateDir)
		return fmt.Errorf("create cluster %s: %w", f.Name, err)
	}
	defer func() {
		if err != nil {
			err = withNodeStates(ctx, p, cluster, err)
			fmt.Fprintf(out, "removing cluster %s\n", f.Name)
			if kerr := removeClusterKubeconfig(cluster, out); kerr != nil {
				err = fmt.Errorf("%w; removing its kubeconfig context failed too: %v", err, kerr)
			}
			dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer dcancel()
			if derr := p.Destroy(dctx, f.Name, out); derr != nil {
				err = fmt.Errorf("%w; removing the cluster failed too (run `plinthctl cluster destroy --name %s`): %v", err, f.Name, derr)
			}
		}
	}()
	return f.finish(ctx, cmd, g, plan.in, cluster, start)
}

// finish waits for the nodes over mutual TLS, merges the context and says
// what to do next.
func (f *clusterCreateFlags) finish(ctx context.Context, cmd *cobra.Command, g *globalFlags, in *generate.Input, cluster *provision.Cluster, start time.Time) error {
	out := cmd.OutOrStdout()
	cc, err := clusterContext(in, cluster)
	if err != nil {
		return err
	}
	if err := cc.Save(cluster.StateDir + "/" + clusterClientFile); err != nil {
		return err
	}
	var ips []string
	names := map[string]string{}
	for _, n := range cluster.Nodes {
		ips = append(ips, n.IP.String())
		names[n.IP.String()] = n.Name
	}
	report := func(ip string) { fmt.Fprintf(out, "%s (%s) answers over mutual TLS\n", names[ip], ip) }
	if err := waitForAPIs(ctx, cc.Contexts[f.Name], ips, report); err != nil {
		return fmt.Errorf("create cluster %s: %w", f.Name, err)
	}
	var k8s *kubernetesResult
	if !f.SkipKubernetes {
		if k8s, err = startKubernetes(ctx, cc.Contexts[f.Name], cluster, f.Kubeconfig, out); err != nil {
			return fmt.Errorf("create cluster %s: %w", f.Name, err)
		}
		cluster.Extra[extraKubeconfig], cluster.Extra[extraKubeconfigContext] = k8s.path, k8s.context
	}
	name, path, err := mergeClusterContext(g, cluster, cc, out)
	if err != nil {
		return err
	}
	cluster.Extra[extraContext], cluster.Extra[extraPlinthConfig] = name, path
	if err := cluster.Save(); err != nil {
		return err
	}
	printNextSteps(out, cluster, name, path, k8s, nowFunc().Sub(start))
	return nil
}

func printNextSteps(out io.Writer, c *provision.Cluster, context, path string, k8s *kubernetesResult, took time.Duration) {
	what := "up"
	if k8s != nil {
		what = "healthy"
	}
	fmt.Fprintf(out, "\ncluster %s is %s in %s: %s\n", c.Name, what, took.Round(100*time.Millisecond), strings.Join(nodeSummaries(c), ", "))
	fmt.Fprintf(out, "context %q is current in %s (endpoint %s)\n", context, path, c.Nodes[0].APIEndpoint)
	if k8s != nil {
		fmt.Fprintf(out, "kubectl context %q is current in %s\n", k8s.context, k8s.path)
	}
	fmt.Fprintln(out, "\nnext:")
	if k8s != nil {
		kubectl := "kubectl"
		if def, err := defaultKubeconfigPath(); err != nil || def != k8s.path {
			kubectl += " --kubeconfig " + k8s.path
		}
		fmt.Fprintf(out, "  %s get nodes\n", kubectl)
		fmt.Fprintf(out, "  %s get pods -A\n", kubectl)
	}
	fmt.Fprintln(out, "  plinthctl version                       # every node, through the control plane")
	fmt.Fprintf(out, "  plinthctl -n %s services\n", c.Nodes[0].IP)
	fmt.Fprintf(out, "  plinthctl cluster show --name %s\n", c.Name)
	fmt.Fprintf(out, "  plinthctl cluster destroy --name %s\n", c.Name)
}

func nodeSummaries(c *provision.Cluster) []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = fmt.Sprintf("%s %s", n.Name, n.IP)
	}
	return out
}

// withNodeStates adds to err the nodes that no longer run, when the
// provisioner can tell.
func withNodeStates(ctx context.Context, p provision.Provisioner, c *provision.Cluster, err error) error {
	sr, ok := p.(provision.StateReader)
	if !ok {
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	states, serr := sr.NodeStates(sctx, c)
	if serr != nil {
		return err
	}
	var down []string
	for _, n := range c.Nodes {
		if s := states[n.Name]; s != "running" {
			down = append(down, n.Name+" is "+s)
		}
	}
	if len(down) == 0 {
		return err
	}
	return fmt.Errorf("%w (%s)", err, strings.Join(down, ", "))
}
