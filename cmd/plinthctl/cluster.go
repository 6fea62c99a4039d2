package main

import (
	"github.com/spf13/cobra"
)

func init() { registerCommand(newClusterCmd) }

// defaultClusterName is the cluster of `plinthctl cluster` commands
// without --name.
const defaultClusterName = "plinth"

// newClusterCmd builds `plinthctl cluster`: local clusters of Plinth nodes
// (containers in Docker, or virtual machines).
func newClusterCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Create, show and destroy local clusters",
		Long: `Create, show and destroy local Plinth clusters: containers in Docker (the
default when a Docker daemon answers) or virtual machines. Each cluster keeps
its configs and description in ~/.plinth/clusters/NAME ($PLINTH_CLUSTERS) and
gets a context of the same name in the client config.`,
	}
	cmd.AddCommand(newClusterCreateCmd(g), newClusterShowCmd(g), newClusterDestroyCmd(g))
	return cmd
}
