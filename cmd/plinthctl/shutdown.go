package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/client"
)

func init() { registerCommand(newShutdownCmd) }

// shutdownFlags are the flags of `plinthctl shutdown`.
type shutdownFlags struct {
	powerWaitFlags
	// Force skips stopping the services in order.
	Force bool
}

func newShutdownCmd(g *globalFlags) *cobra.Command {
	f := &shutdownFlags{}
	cmd := &cobra.Command{
		Use:   "shutdown [--force]",
		Short: "Power nodes off",
		Long: `Shut the nodes down and power them off. With --wait (the default for one
node) the node's progress is shown until it stops answering.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &machine.ShutdownRequest{Force: f.Force}
			goal := powerGoal{verb: "shutdown"}
			return runPower(cmd, g, &f.powerWaitFlags, goal, func(ctx context.Context, c *client.Client) ([]*common.Metadata, error) {
				resp, err := c.Machine.Shutdown(ctx, req)
				return metadataOf(resp.GetMessages()), err
			})
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().BoolVar(&f.Force, "force", false, "do not stop the services in order first")
	return cmd
}
