package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/api/machine"
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
			fmt.Fprintf(cmd.OutOrStdout(), "bootstrap of %s accepted: etcd starts as a new cluster, then the control plane (see plinthctl health)\n", nc.nameOf(node))
			return nil
		},
	}
}

// bootstrapNode asks node ("" is the endpoint) to bootstrap etcd.
func bootstrapNode(cmd *cobra.Command, nc *nodeConn, node string) error {
	resp, err := nc.c.Machine.Bootstrap(nc.one(cmd.Context(), node), &machine.BootstrapRequest{})
	if err != nil {
		return fmt.Errorf("bootstrap of %s: %w", nc.nameOf(node), apiError{err})
	}
	for _, item := range resp.GetMessages() {
		if msg := item.GetMetadata().GetError(); msg != "" {
			return fmt.Errorf("bootstrap of %s: %s", nc.nameOf(node), msg)
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
