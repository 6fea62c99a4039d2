package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"
)

func init() { registerCommand(newHostnameCmd) }

func newHostnameCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "hostname",
		Short: "Print the nodes' hostnames",
		Long:  `Print the hostname of the node, or with several nodes a NODE HOSTNAME table.`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			resp, err := nc.c.Machine.Hostname(nc.fanOut(cmd.Context()), &emptypb.Empty{})
			if err != nil {
				return nc.callError("hostname", err)
			}
			fails := &failures{out: cmd.ErrOrStderr()}
			w := newTable(cmd.OutOrStdout())
			if nc.multi() {
				writeRow(w, true, "NODE", "HOSTNAME")
			}
			for _, item := range fanOutItems(fails, resp.GetMessages()) {
				if nc.multi() {
					writeRow(w, true, nc.name(item.GetMetadata()), item.GetHostname())
				} else {
					fmt.Fprintln(w, item.GetHostname())
				}
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return fails.err()
		},
	}
}
