package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newMountsCmd) }

func newMountsCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "mounts",
		Short: "List the nodes' mounted filesystems with their use",
		Long:  `List the nodes' mounted filesystems with their size and use, like df(1). Pseudo filesystems (size 0) are left out.`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			resp, err := nc.c.Machine.Mounts(nc.fanOut(cmd.Context()), &emptypb.Empty{})
			if err != nil {
				return nc.callError("mounts", err)
			}
			fails := &failures{out: cmd.ErrOrStderr()}
			w := newTable(cmd.OutOrStdout())
			writeRow(w, nc.multi(), "NODE", "FILESYSTEM", "SIZE(GB)", "USED", "AVAILABLE", "PERCENT", "MOUNTED ON")
			for _, item := range fanOutItems(fails, resp.GetMessages()) {
				for _, s := range item.GetStats() {
					if s.GetSize() == 0 {
						continue
					}
					writeRow(w, nc.multi(), nc.name(item.GetMetadata()), mountCells(s)...)
				}
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return fails.err()
		},
	}
}

// mountCells are the columns of one filesystem, sizes in GB (10^9 bytes).
func mountCells(s *machine.MountStat) []string {
	size, avail := s.GetSize(), min(s.GetAvailable(), s.GetSize())
	used := size - avail
	gb := func(b uint64) string { return fmt.Sprintf("%.2f", float64(b)/1e9) }
	return []string{s.GetFilesystem(), gb(size), gb(used), gb(avail),
		fmt.Sprintf("%.2f%%", 100*float64(used)/float64(size)), s.GetMountedOn()}
}
