package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newDmesgCmd) }

// dmesgFlags are the flags of `plinthctl dmesg`.
type dmesgFlags struct {
	// Follow keeps streaming new kernel messages.
	Follow bool
	// Tail, with Follow, skips the messages logged before now.
	Tail bool
}

func newDmesgCmd(g *globalFlags) *cobra.Command {
	f := &dmesgFlags{}
	cmd := &cobra.Command{
		Use:   "dmesg",
		Short: "Print the kernel's messages",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.Tail && !f.Follow {
				return fmt.Errorf("--tail skips past messages of a followed stream: add -f")
			}
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			stream, err := nc.c.Machine.Dmesg(nc.fanOut(cmd.Context()), &machine.DmesgRequest{Follow: f.Follow, Tail: f.Tail})
			if err != nil {
				return nc.callError("dmesg", err)
			}
			fails := &failures{out: cmd.ErrOrStderr()}
			if err := copyData(nc, stream.Recv, cmd.OutOrStdout(), fails, nc.multi()); err != nil {
				return nc.callError("dmesg", err)
			}
			return fails.err()
		},
	}
	cmd.Flags().BoolVarP(&f.Follow, "follow", "f", false, "keep printing new messages")
	cmd.Flags().BoolVar(&f.Tail, "tail", false, "with -f, print only messages logged from now on")
	return cmd
}
