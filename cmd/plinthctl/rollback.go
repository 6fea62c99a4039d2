package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/client"
	resruntime "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

func newRollbackCmd(g *globalFlags) *cobra.Command {
	f := &powerWaitFlags{}
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Boot the nodes' previous operating system version",
		Long: `Make the other boot slot (the version before the last upgrade) the default
of every node of -n and reboot into it. It fails on a node whose other slot
holds no complete version. With --wait (the default for one node) the
progress is shown until the node is back.`,
		Example: `  plinthctl rollback -n 10.5.0.2`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			goal := powerGoal{verb: "rollback", back: true, stages: []resruntime.Stage{resruntime.StageRunning, resruntime.StageMaintenance}}
			return runPower(cmd, g, f, goal, func(ctx context.Context, c *client.Client) ([]*common.Metadata, error) {
				resp, err := c.Machine.Rollback(ctx, &machine.RollbackRequest{})
				for _, m := range resp.GetMessages() {
					if m.GetMetadata().GetError() == "" {
						fmt.Fprintf(cmd.OutOrStdout(), "%s: rolling back to %s (slot %s)\n", nodeLabel(m.GetMetadata()), m.GetVersion(), m.GetSlot())
					}
				}
				return metadataOf(resp.GetMessages()), err
			})
		},
	}
	f.add(cmd.Flags())
	return cmd
}

// nodeLabel names the node of a reply ("node" when it is the endpoint).
func nodeLabel(md *common.Metadata) string {
	if n := md.GetNode(); n != "" {
		return n
	}
	return "node"
}
