package main

import (
	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newLogsCmd) }

// logsFlags are the flags of `plinthctl logs`.
type logsFlags struct {
	// Follow keeps streaming new lines.
	Follow bool
	// Tail is how many past lines to show; negative means all.
	Tail int32
	// Kubernetes reads a container's logs instead of a service's.
	Kubernetes bool
}

func newLogsCmd(g *globalFlags) *cobra.Command {
	f := &logsFlags{}
	cmd := &cobra.Command{
		Use:   "logs SERVICE | -k [NAMESPACE/]POD/CONTAINER",
		Short: "Print a service's or a Kubernetes container's logs",
		Long: `Print the captured output of a service, or with -k of a Kubernetes
container ("plinthctl containers -k" lists them; the namespace may be left
out when the pod name is unique). With several nodes every line is led by
its node.`,
		Example: `  plinthctl logs etcd --tail 20
  plinthctl logs kubelet -f -n 10.5.0.2,10.5.0.3
  plinthctl logs -k kube-system/kube-flannel-ds-x7k2p/kube-flannel -n 10.5.0.3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			req := &machine.LogsRequest{Id: args[0], Follow: f.Follow, TailLines: f.Tail, Kubernetes: f.Kubernetes}
			stream, err := nc.c.Machine.Logs(nc.fanOut(cmd.Context()), req)
			if err != nil {
				return nc.callError("logs of "+args[0], err)
			}
			fails := &failures{out: cmd.ErrOrStderr()}
			if err := copyData(nc, stream.Recv, cmd.OutOrStdout(), fails, nc.multi()); err != nil {
				return nc.callError("logs of "+args[0], err)
			}
			return fails.err()
		},
	}
	cmd.Flags().BoolVarP(&f.Follow, "follow", "f", false, "keep printing new lines")
	cmd.Flags().Int32Var(&f.Tail, "tail", -1, "print only the last N lines (-1: all)")
	cmd.Flags().BoolVarP(&f.Kubernetes, "kubernetes", "k", false, "read a Kubernetes container's log: [NAMESPACE/]POD/CONTAINER")
	return cmd
}
