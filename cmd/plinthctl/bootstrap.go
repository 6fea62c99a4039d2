package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/client"
)

func init() { registerCommand(newBootstrapCmd) }

func newBootstrapCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "bootstrap",
		Short: "Start the cluster's etcd on one control plane",
		Long: `Start etcd as a new cluster on one control-plane node (the endpoint, or the
node given with -n). Run it once per cluster: the other control planes join
that member by themselves, and the node refuses a second bootstrap.`,
		Example: `  plinthctl bootstrap -n 10.5.0.2`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			node, err := controlPlaneTarget(g, nc, "bootstrap")
			if err != nil {
				return err
			}
			if err := bootstrapNode(cmd, nc, node); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "bootstrap of %s accepted: etcd starts as a new cluster, then the control plane (see plinthctl health)\n", targetName(nc, node))
			return nil
		},
	}
}

// bootstrapNode asks node ("" is the endpoint) to bootstrap etcd.
func bootstrapNode(cmd *cobra.Command, nc *nodeConn, node string) error {
	resp, err := nc.c.Machine.Bootstrap(nc.one(cmd.Context(), node), &machine.BootstrapRequest{})
	if err != nil {
		return fmt.Errorf("bootstrap of %s: %w", targetName(nc, node), apiError{err})
	}
	for _, item := range resp.GetMessages() {
		if msg := item.GetMetadata().GetError(); msg != "" {
			return fmt.Errorf("bootstrap of %s: %s", targetName(nc, node), msg)
		}
	}
	return nil
}

// controlPlaneTarget is the node of commands served by one control plane
// (bootstrap, kubeconfig, etcd snapshot, ...): the one -n names, else the
// endpoint itself, whatever nodes the context lists (the endpoint of a
// context is a control plane).
func controlPlaneTarget(g *globalFlags, nc *nodeConn, verb string) (string, error) {
	if len(g.Nodes) == 0 {
		return "", nil
	}
	return nc.single(verb)
}

// targetName names the node of a controlPlaneTarget in messages: the node,
// or the endpoint the call went to.
func targetName(nc *nodeConn, node string) string {
	if node != "" {
		return node
	}
	return "endpoint " + strings.Join(nc.c.Endpoints(), ",")
}

// controlPlaneCall returns ctx aimed at the nodes of -n, else at the
// endpoint itself (a control plane), for the etcd commands whose answers
// only control planes have; multi says whether answers need a NODE
// column.
func controlPlaneCall(ctx context.Context, g *globalFlags, nc *nodeConn) (_ context.Context, multi bool) {
	if len(g.Nodes) == 0 {
		return client.WithNodes(ctx), false
	}
	return nc.fanOut(ctx), nc.multi()
}

// controlPlaneError is the error of a whole controlPlaneCall, naming
// where it went.
func controlPlaneError(g *globalFlags, nc *nodeConn, what string, err error) error {
	if len(g.Nodes) == 0 {
		return fmt.Errorf("%s on %s: %w", what, targetName(nc, ""), apiError{err})
	}
	return nc.callError(what, err)
}
