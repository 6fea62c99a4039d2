package main

import (
	"strconv"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"
)

func init() { registerCommand(newMemoryCmd) }

func newMemoryCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "memory",
		Short: "Show the nodes' memory use in MiB",
		Long: `Show the nodes' memory in MiB, like free(1): USED is what is neither free
nor buffers nor page cache; AVAILABLE is what can be allocated without
swapping.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			resp, err := nc.c.Machine.Memory(nc.fanOut(cmd.Context()), &emptypb.Empty{})
			if err != nil {
				return nc.callError("memory", err)
			}
			fails := &failures{out: cmd.ErrOrStderr()}
			w := newTable(cmd.OutOrStdout())
			writeRow(w, nc.multi(), "NODE", "TOTAL", "USED", "FREE", "SHARED", "BUFFERS", "CACHE", "AVAILABLE")
			for _, item := range fanOutItems(fails, resp.GetMessages()) {
				m := item.GetMeminfo()
				used := m.GetMemTotal() - min(m.GetMemTotal(), m.GetMemFree()+m.GetBuffers()+m.GetCached())
				writeRow(w, nc.multi(), nc.name(item.GetMetadata()),
					mib(m.GetMemTotal()), mib(used), mib(m.GetMemFree()), mib(m.GetShmem()),
					mib(m.GetBuffers()), mib(m.GetCached()), mib(m.GetMemAvailable()))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return fails.err()
		},
	}
}

// mib renders bytes as whole MiB.
func mib(b uint64) string { return strconv.FormatUint(b>>20, 10) }
