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

func init() { registerCommand(newResetCmd) }

// resetFlags are the flags of `plinthctl reset`.
type resetFlags struct {
	powerWaitFlags
	// Graceful leaves etcd and drains the node first.
	Graceful bool
	// Reboot reboots after the wipe instead of powering off.
	Reboot bool
	// WipeMode is all, system-disk or user-disks.
	WipeMode string
	// SystemLabels limits the wipe to these system partitions.
	SystemLabels []string
}

// wipeModes maps --wipe-mode values to the API's.
var wipeModes = map[string]machine.ResetRequest_WipeMode{
	"all":         machine.ResetRequest_ALL,
	"system-disk": machine.ResetRequest_SYSTEM_DISK,
	"user-disks":  machine.ResetRequest_USER_DISKS,
}

func newResetCmd(g *globalFlags) *cobra.Command {
	f := &resetFlags{}
	cmd := &cobra.Command{
		Use:   "reset [--graceful] [--reboot] [--wipe-mode all|system-disk|user-disks] [--system-labels-to-wipe STATE,EPHEMERAL]",
		Short: "Wipe nodes back to their first boot",
		Long: `Wipe the nodes' disks (all of them, the system disk or the user disks; or
only the system partitions named by --system-labels-to-wipe), then power
off, or reboot with --reboot. With --wait (the default for one node) the
progress is shown until the node is down, or with --reboot until it is back,
running or in maintenance mode.`,
		Example: `  plinthctl reset -n 10.5.0.4 --reboot
  plinthctl reset -n 10.5.0.4 --system-labels-to-wipe EPHEMERAL --reboot`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mode, ok := wipeModes[f.WipeMode]
			if !ok {
				return fmt.Errorf("--wipe-mode %q: expected all, system-disk or user-disks", f.WipeMode)
			}
			req := &machine.ResetRequest{Graceful: f.Graceful, Reboot: f.Reboot, Mode: mode, SystemPartitionsToWipe: f.SystemLabels}
			goal := powerGoal{verb: "reset"}
			if f.Reboot {
				goal.back = true
				goal.stages = []resruntime.Stage{resruntime.StageRunning, resruntime.StageMaintenance}
			}
			return runPower(cmd, g, &f.powerWaitFlags, goal, func(ctx context.Context, c *client.Client) ([]*common.Metadata, error) {
				resp, err := c.Machine.Reset(ctx, req)
				return metadataOf(resp.GetMessages()), err
			})
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().BoolVar(&f.Graceful, "graceful", true, "leave etcd and drain the node first")
	cmd.Flags().BoolVar(&f.Reboot, "reboot", false, "reboot after the wipe instead of powering off")
	cmd.Flags().StringVar(&f.WipeMode, "wipe-mode", "all", "disks to wipe: all, system-disk or user-disks")
	cmd.Flags().StringSliceVar(&f.SystemLabels, "system-labels-to-wipe", nil, "wipe only these system partitions, e.g. STATE,EPHEMERAL")
	return cmd
}
