package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/client"
	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
	"github.com/plinth-os/plinth/pkg/machinery/client/kubeconfig"
	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/pkg/provision/docker"
)

// Keys of provision.Cluster.Extra about the cluster's kubeconfig.
const (
	extraKubeconfig        = "kubeconfig"
	extraKubeconfigContext = "kubeconfig-context"
)

// kubernetesResult is where cluster create put the cluster's kubeconfig.
type kubernetesResult struct {
	path, context string
}

// startKubernetes bootstraps etcd on the first control plane, waits for
// the cluster to be healthy (printing each check), and merges an admin
// kubeconfig for the published Kubernetes API into kubeconfigPath
// (default ~/.kube/config).
func startKubernetes(ctx context.Context, cc *clientconfig.Context, cluster *provision.Cluster, kubeconfigPath string, out io.Writer) (*kubernetesResult, error) {
	c, err := client.New(ctx, client.WithContext(cc))
	if err != nil {
		return nil, err
	}
	defer c.Close() //nolint:errcheck // nothing to do about it
	var nodes clusterNodes
	var first provision.Node
	for _, n := range cluster.Nodes {
		if n.Type == provision.TypeControlPlane {
			if len(nodes.controlPlanes) == 0 {
				first = n
			}
			nodes.controlPlanes = append(nodes.controlPlanes, n.IP.String())
		} else {
			nodes.workers = append(nodes.workers, n.IP.String())
		}
	}
	fmt.Fprintf(out, "bootstrapping etcd on %s (%s)\n", first.Name, first.IP)
	if err := bootstrapWithRetry(ctx, c, first.IP.String()); err != nil {
		return nil, err
	}
	server := ""
	if ep := cluster.Extra[docker.ExtraKubernetesAPI]; ep != "" {
		server = "https://" + ep
	}
	h := &healthChecker{c: c, nodes: nodes, k8sServer: server, out: out}
	defer h.close()
	if err := h.run(ctx); err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	data, err := fetchKubeconfig(ctx, c, nodes.controlPlanes[0], first.Name)
	if err != nil {
		return nil, err
	}
	if server != "" {
		if data, err = withServer(data, server); err != nil {
			return nil, err
		}
	}
	path, context, err := saveKubeconfig(kubeconfigPath, data, true, false, out)
	if err != nil {
		return nil, err
	}
	return &kubernetesResult{path: path, context: context}, nil
}

// bootstrapRetryInterval spaces tries of a bootstrap the node cannot
// take yet.
var bootstrapRetryInterval = time.Second

// bootstrapWithRetry asks node to bootstrap etcd, trying again while its
// API is unavailable.
func bootstrapWithRetry(ctx context.Context, c *client.Client, node string) error {
	for {
		_, err := c.Machine.Bootstrap(client.WithNode(ctx, node), &machine.BootstrapRequest{})
		if err == nil {
			return nil
		}
		if code := status.Code(err); code != codes.Unavailable && code != codes.DeadlineExceeded {
			return fmt.Errorf("bootstrap of %s: %w", node, apiError{err})
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bootstrap of %s: %w (last: %v)", node, ctx.Err(), apiError{err})
		case <-time.After(bootstrapRetryInterval):
		}
	}
}

// removeClusterKubeconfig removes the context cluster create merged into
// a kubeconfig, if it still is the cluster's (same Kubernetes CA). It
// must run before the state directory (holding the CA) is removed; it
// reports on out.
func removeClusterKubeconfig(cluster *provision.Cluster, out io.Writer) error {
	path, context := cluster.Extra[extraKubeconfig], cluster.Extra[extraKubeconfigContext]
	if path == "" || context == "" {
		return nil
	}
	bundle, err := secrets.Load(filepath.Join(cluster.StateDir, clusterSecretsFile))
	if err != nil {
		return fmt.Errorf("kubeconfig context %q: %w", context, err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	edited, removed, err := kubeconfig.Remove(data, context, bundle.Certs.K8s.Crt)
	if err != nil || !removed {
		return err
	}
	if err := fsutil.WriteFileAtomic(path, edited, 0o600); err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	fmt.Fprintf(out, "removed context %q from %s\n", context, path)
	return nil
}
