package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/pkg/provision/docker"
)

func newClusterShowCmd(_ *globalFlags) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the nodes of a local cluster and whether they run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := provision.Load(name)
			if errors.Is(err, provision.ErrNotFound) {
				return fmt.Errorf("no cluster named %s: create it with `plinthctl cluster create --name %s` (%w)", name, name, err)
			}
			if err != nil {
				return err
			}
			states := nodeStates(cmd, c)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "cluster %s (%s), network %s, state in %s\n", c.Name, c.Provisioner, c.Network, c.StateDir)
			if ep := c.Extra[docker.ExtraKubernetesAPI]; ep != "" {
				fmt.Fprintf(out, "Kubernetes API https://%s", ep)
				if kc := c.Extra[extraKubeconfig]; kc != "" {
					fmt.Fprintf(out, ", context %q in %s", c.Extra[extraKubeconfigContext], kc)
				}
				fmt.Fprintln(out)
			}
			fmt.Fprintln(out)
			w := newTable(out)
			fmt.Fprintln(w, "NAME\tTYPE\tIP\tAPI-ENDPOINT\tSTATE")
			for _, n := range c.Nodes {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", n.Name, n.Type, n.IP, n.APIEndpoint, states[n.Name])
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&name, "name", defaultClusterName, "name of the cluster")
	return cmd
}

// nodeStates asks the cluster's provisioner whether each node runs; a
// provisioner that cannot tell, or fails to, gives "unknown" (with the
// reason on stderr).
func nodeStates(cmd *cobra.Command, c *provision.Cluster) map[string]string {
	states := map[string]string{}
	for _, n := range c.Nodes {
		states[n.Name] = "unknown"
	}
	build, ok := provisioners[c.Provisioner]
	if !ok {
		return states
	}
	p, err := build()
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: node states: %v\n", err)
		return states
	}
	sr, ok := p.(provision.StateReader)
	if !ok {
		return states
	}
	got, err := sr.NodeStates(cmd.Context(), c)
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: node states: %v\n", err)
		return states
	}
	for k, v := range got {
		states[k] = v
	}
	return states
}
