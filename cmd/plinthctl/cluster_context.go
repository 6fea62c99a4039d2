package main

import (
	"fmt"
	"io"
	"slices"

	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
	"github.com/plinth-os/plinth/pkg/provision"
)

// Keys of provision.Cluster.Extra that plinthctl keeps.
const (
	extraContext      = "context"
	extraPlinthConfig = "plinthconfig"
)

// mergeClusterContext adds the cluster's context to the client config
// (--plinthconfig, $PLINTHCONFIG or ~/.plinth/config), makes it current and
// returns the context's name there and the file's path. Another context
// of the same name is kept: the cluster's becomes NAME-1 (or the next free
// name), and out says so.
func mergeClusterContext(g *globalFlags, cluster *provision.Cluster, cc *clientconfig.Config, out io.Writer) (name, path string, err error) {
	path, cfg, err := clientconfig.Resolve(g.PlinthConfig, "")
	if err != nil {
		return "", "", err
	}
	renames := cfg.Merge(cc)
	name = cluster.Name
	for _, r := range renames {
		if r.From == cluster.Name {
			name = r.To
			fmt.Fprintf(out, "context %q exists in %s: the cluster's context is %q\n", r.From, path, r.To)
		}
	}
	if err := cfg.Save(path); err != nil {
		return "", "", err
	}
	return name, path, nil
}

// removeClusterContext deletes the cluster's context from the client
// config it was merged into, if it still points at the cluster (same
// endpoints and nodes); it reports what it did on out.
func removeClusterContext(g *globalFlags, cluster *provision.Cluster, out io.Writer) error {
	name, path := cluster.Name, g.PlinthConfig
	if cluster.Extra != nil {
		if v := cluster.Extra[extraContext]; v != "" {
			name = v
		}
		if v := cluster.Extra[extraPlinthConfig]; v != "" && path == "" {
			path = v
		}
	}
	path, cfg, err := clientconfig.Resolve(path, "")
	if err != nil {
		return err
	}
	ctx, ok := cfg.Contexts[name]
	if !ok || !contextMatches(ctx, cluster) {
		return nil
	}
	delete(cfg.Contexts, name)
	if cfg.Context == name {
		cfg.Context = ""
	}
	if err := cfg.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(out, "removed context %q from %s\n", name, path)
	return nil
}

// contextMatches reports whether ctx is the one cluster create wrote.
func contextMatches(ctx *clientconfig.Context, cluster *provision.Cluster) bool {
	var nodes, endpoints []string
	for _, n := range cluster.Nodes {
		nodes = append(nodes, n.IP.String())
		if n.Type == provision.TypeControlPlane && len(endpoints) == 0 {
			endpoints = []string{n.APIEndpoint}
		}
	}
	return slices.Equal(ctx.Nodes, nodes) && slices.Equal(ctx.Endpoints, endpoints)
}
