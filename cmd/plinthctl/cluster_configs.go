package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"

	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/config/patch"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
	"github.com/plinth-os/plinth/pkg/provision"
)

// Files of a cluster's state directory besides the provisioner's.
const (
	clusterSecretsFile = "secrets.yaml"
	clusterClientFile  = "plinthconfig"
)

// clusterLayout is the shape of a cluster to create.
type clusterLayout struct {
	name                   string
	subnet                 netip.Prefix
	controlPlanes, workers int
	cpus                   float64
	memoryMiB              int
	stateDir               string
}

// nodeRequests names the nodes and gives them addresses: the gateway is
// the subnet's first address, nodes follow, control planes first.
func (l clusterLayout) nodeRequests() ([]provision.NodeRequest, error) {
	subnet := l.subnet.Masked()
	total := l.controlPlanes + l.workers
	if hosts := 1<<(32-subnet.Bits()) - 3; total > hosts { // network, gateway, broadcast
		return nil, fmt.Errorf("--subnet %s has room for %d nodes, not %d: choose a larger one", subnet, max(hosts, 0), total)
	}
	ip := subnet.Addr().Next() // the gateway
	var nodes []provision.NodeRequest
	add := func(typ string, n int) {
		for i := 1; i <= n; i++ {
			ip = ip.Next()
			nodes = append(nodes, provision.NodeRequest{
				Name: fmt.Sprintf("%s-%s-%d", l.name, typ, i), Type: typ, IP: ip,
				CPUs: l.cpus, MemoryMiB: l.memoryMiB,
			})
		}
	}
	add(provision.TypeControlPlane, l.controlPlanes)
	add(provision.TypeWorker, l.workers)
	return nodes, nil
}

// clusterPatches are the user's patches: for every node, then per type.
type clusterPatches struct {
	common, controlPlane, worker []patch.Patch
}

func loadClusterPatches(common, cp, worker []string) (clusterPatches, error) {
	var p clusterPatches
	var err error
	if p.common, err = loadPatches("--config-patch", common); err != nil {
		return p, err
	}
	if p.controlPlane, err = loadPatches("--config-patch-control-plane", cp); err != nil {
		return p, err
	}
	p.worker, err = loadPatches("--config-patch-worker", worker)
	return p, err
}

// hostnamePatch names the node after itself.
func hostnamePatch(node string) (patch.Patch, error) {
	data, err := json.Marshal(map[string]any{"machine": map[string]any{"network": map[string]any{"hostname": node}}})
	if err != nil {
		return nil, err
	}
	return patch.LoadBytes("hostname of "+node, data)
}

// renderConfigs fills in each node's machine config: the generated one of
// its type, the user's patches, then its hostname, validated for mode.
// Warnings go to warnOut.
func renderConfigs(in *generate.Input, nodes []provision.NodeRequest, p clusterPatches, mode validation.Mode, warnOut io.Writer) error {
	base := map[string][]byte{}
	for _, typ := range []string{v1alpha1.TypeControlPlane, v1alpha1.TypeWorker} {
		c, err := in.Config(typ)
		if err != nil {
			return err
		}
		if base[typ], err = c.Bytes(); err != nil {
			return err
		}
	}
	for i := range nodes {
		n := &nodes[i]
		specific := p.worker
		if n.Type == provision.TypeControlPlane {
			specific = p.controlPlane
		}
		host, err := hostnamePatch(n.Name)
		if err != nil {
			return err
		}
		patches := append(append(append([]patch.Patch{}, p.common...), specific...), host)
		data, err := patch.Apply(base[n.Type], config.MergeKeys, patches...)
		if err != nil {
			return fmt.Errorf("config of %s: %w", n.Name, err)
		}
		if _, err := loadAndValidate(n.Name+".yaml", data, mode, warnOut); err != nil {
			return err
		}
		n.Config = data
	}
	return nil
}

// writeClusterFiles stores the secrets and every node's config in the
// state directory, readable only by the user.
func writeClusterFiles(dir string, bundle *secrets.Bundle, nodes []provision.NodeRequest) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	data, err := bundle.Marshal()
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, clusterSecretsFile), data, 0o600); err != nil {
		return fmt.Errorf("write secrets: %w", err)
	}
	for _, n := range nodes {
		if err := fsutil.WriteFileAtomic(filepath.Join(dir, n.Name+".yaml"), n.Config, 0o600); err != nil {
			return fmt.Errorf("write config of %s: %w", n.Name, err)
		}
	}
	return nil
}

// clusterContext is the client context of a created cluster: the admin
// certificate of the generated config, the first control plane's
// published API as endpoint and every node's address as default nodes.
func clusterContext(in *generate.Input, c *provision.Cluster) (*clientconfig.Config, error) {
	cc, err := in.ClientConfig(generate.DefaultClientCertTTL)
	if err != nil {
		return nil, err
	}
	ctx := cc.Contexts[in.ClusterName]
	ctx.Endpoints = nil
	for _, n := range c.Nodes {
		if n.Type == provision.TypeControlPlane && len(ctx.Endpoints) == 0 {
			ctx.Endpoints = []string{n.APIEndpoint}
		}
		ctx.Nodes = append(ctx.Nodes, n.IP.String())
	}
	return cc, nil
}
