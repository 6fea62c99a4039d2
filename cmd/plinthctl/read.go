package main

import (
	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newReadCmd) }

func newReadCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "read PATH",
		Short:   "Print a file of a node",
		Long:    `Print a file of one node to standard output. Only files under the roots the node allows can be read.`,
		Example: `  plinthctl read /proc/cpuinfo -n 10.5.0.2`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			node, err := nc.single("read")
			if err != nil {
				return err
			}
			stream, err := nc.c.Machine.Read(nc.one(cmd.Context(), node), &machine.ReadRequest{Path: args[0]})
			if err != nil {
				return nc.callError("read "+args[0], err)
			}
			fails := &failures{out: cmd.ErrOrStderr()}
			if err := copyData(nc, stream.Recv, cmd.OutOrStdout(), fails, false); err != nil {
				return nc.callError("read "+args[0], err)
			}
			return fails.err()
		},
	}
}
