package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/pkg/provision/docker"
)

func newClusterDestroyCmd(g *globalFlags) *cobra.Command {
	var name, provisioner string
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Remove a local cluster: its nodes, network, volumes, state and context",
		Long: `Remove everything 'cluster create' made: the nodes, their network and
volumes, the state directory, the cluster's context from the client config
(if it still points at the cluster) and its admin context from the
kubeconfig it was merged into (if it still is the cluster's).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if err := provision.CheckName(name); err != nil {
				return fmt.Errorf("--name: %w", err)
			}
			cluster, err := provision.Load(name)
			if err != nil && !errors.Is(err, provision.ErrNotFound) {
				return err
			}
			if provisioner == "" {
				provisioner = docker.Name
				if cluster != nil {
					provisioner = cluster.Provisioner
				}
			}
			build, ok := provisioners[provisioner]
			if !ok {
				return fmt.Errorf("cluster %s was made by provisioner %q, which this plinthctl does not have", name, provisioner)
			}
			p, err := build()
			if err != nil {
				return err
			}
			var kerr error
			if cluster != nil {
				// Before Destroy: the state directory holds the CA it checks.
				kerr = removeClusterKubeconfig(cluster, out)
			}
			if err := p.Destroy(cmd.Context(), name, out); err != nil {
				if errors.Is(err, provision.ErrNotFound) {
					return fmt.Errorf("no cluster named %s: %w", name, err)
				}
				return err
			}
			if cluster != nil {
				if err := removeClusterContext(g, cluster, out); err != nil {
					return fmt.Errorf("cluster %s is gone, but its context remains: %w", name, err)
				}
			}
			if kerr != nil {
				return fmt.Errorf("cluster %s is gone, but its kubeconfig context remains: %w", name, kerr)
			}
			fmt.Fprintf(out, "destroyed cluster %s\n", name)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", defaultClusterName, "name of the cluster")
	cmd.Flags().StringVar(&provisioner, "provisioner", "", "provisioner of a cluster whose state directory is gone (default: the one that made it, else docker)")
	return cmd
}
