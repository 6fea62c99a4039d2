package main

import (
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newServicesCmd) }

func newServicesCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "services",
		Short: "List the services of the nodes with their state and health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			resp, err := nc.c.Machine.ServiceList(nc.fanOut(cmd.Context()), &emptypb.Empty{})
			if err != nil {
				return nc.callError("list services", err)
			}
			fails := &failures{out: cmd.ErrOrStderr()}
			w := newTable(cmd.OutOrStdout())
			writeRow(w, true, "NODE", "SERVICE", "STATE", "HEALTH", "LAST CHANGE")
			for _, list := range fanOutItems(fails, resp.GetMessages()) {
				node := nc.name(list.GetMetadata())
				for _, s := range list.GetServices() {
					writeRow(w, true, node, s.GetId(), s.GetState(), healthWord(s.GetHealth()), ago(lastChange(s)))
				}
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return fails.err()
		},
	}
}

// healthWord renders a service's health: "?" (not checked yet), "OK" or
// "Fail".
func healthWord(h *machine.ServiceHealth) string {
	switch {
	case h == nil || h.GetUnknown():
		return "?"
	case h.GetHealthy():
		return "OK"
	default:
		return "Fail"
	}
}

// lastChange is when the service last changed state or health.
func lastChange(s *machine.ServiceInfo) time.Time {
	var t time.Time
	if ev := s.GetEvents(); len(ev) > 0 {
		t = tsTime(ev[len(ev)-1].GetTs())
	}
	if h := tsTime(s.GetHealth().GetLastChange()); h.After(t) {
		t = h
	}
	return t
}
