package main

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newContainersCmd) }

func newContainersCmd(g *globalFlags) *cobra.Command {
	var kubernetes bool
	ns := defaultImageNamespace
	cmd := &cobra.Command{
		Use:   "containers",
		Short: "List the containers of the nodes' containerd",
		Long: `List the containers of the nodes' containerd. With -k they are shown as
Kubernetes sees them: each pod's sandbox (ID NAMESPACE/POD) and containers
(ID NAMESPACE/POD/CONTAINER, what "plinthctl logs -k" takes), with their
restart counts.`,
		Example: `  plinthctl containers -k -n 10.5.0.2,10.5.0.3
  plinthctl logs -k kube-system/coredns-6d4b75cb6d-x2x7q/coredns`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			req := &machine.ContainersRequest{Namespace: ns, Driver: common.ContainerDriver_CONTAINERD}
			if kubernetes {
				req.Driver = common.ContainerDriver_CRI
			}
			resp, err := nc.c.Machine.Containers(nc.fanOut(cmd.Context()), req)
			if err != nil {
				return nc.callError("containers", err)
			}
			fails := &failures{out: cmd.ErrOrStderr()}
			w := newTable(cmd.OutOrStdout())
			if kubernetes {
				writeRow(w, nc.multi(), "NODE", "ID", "IMAGE", "PID", "STATUS", "RESTARTS")
			} else {
				writeRow(w, nc.multi(), "NODE", "NAMESPACE", "ID", "IMAGE", "PID", "STATUS")
			}
			for _, item := range fanOutItems(fails, resp.GetMessages()) {
				for _, c := range item.GetContainers() {
					pid := "-"
					if c.GetPid() != 0 {
						pid = strconv.FormatUint(uint64(c.GetPid()), 10)
					}
					if kubernetes {
						restarts := strconv.FormatUint(uint64(c.GetRestartCount()), 10)
						if c.GetSandbox() {
							restarts = "-"
						}
						writeRow(w, nc.multi(), nc.name(item.GetMetadata()), c.GetId(), c.GetImage(), pid, c.GetStatus(), restarts)
						continue
					}
					writeRow(w, nc.multi(), nc.name(item.GetMetadata()), c.GetNamespace(), c.GetId(), c.GetImage(), pid, c.GetStatus())
				}
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return fails.err()
		},
	}
	cmd.Flags().BoolVarP(&kubernetes, "kubernetes", "k", false, "show Kubernetes pods and containers (CRI)")
	cmd.Flags().StringVar(&ns, "namespace", defaultImageNamespace, "containerd namespace")
	return cmd
}
