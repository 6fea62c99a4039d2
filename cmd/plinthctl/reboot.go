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

func init() { registerCommand(newRebootCmd) }

// rebootFlags are the flags of `plinthctl reboot`.
type rebootFlags struct {
	powerWaitFlags
	// Mode is default (kexec when possible) or powercycle.
	Mode string
}

// rebootModes maps --mode values to the API's.
var rebootModes = map[string]machine.RebootRequest_Mode{
	"default":    machine.RebootRequest_DEFAULT,
	"powercycle": machine.RebootRequest_POWERCYCLE,
}

func newRebootCmd(g *globalFlags) *cobra.Command {
	f := &rebootFlags{}
	cmd := &cobra.Command{
		Use:   "reboot [--mode default|powercycle]",
		Short: "Reboot nodes",
		Long: `Reboot the nodes. With --wait (the default for one node) the node's progress
is shown until it is back and running.`,
		Example: `  plinthctl reboot -n 10.5.0.3
  plinthctl reboot -n 10.5.0.3,10.5.0.4 --wait --timeout 5m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mode, ok := rebootModes[f.Mode]
			if !ok {
				return fmt.Errorf("--mode %q: expected default or powercycle", f.Mode)
			}
			req := &machine.RebootRequest{Mode: mode}
			goal := powerGoal{verb: "reboot", back: true, stages: []resruntime.Stage{resruntime.StageRunning}}
			return runPower(cmd, g, &f.powerWaitFlags, goal, func(ctx context.Context, c *client.Client) ([]*common.Metadata, error) {
				resp, err := c.Machine.Reboot(ctx, req)
				return metadataOf(resp.GetMessages()), err
			})
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().StringVar(&f.Mode, "mode", "default", "default (kexec into the kernel when possible) or powercycle (through the firmware)")
	return cmd
}
