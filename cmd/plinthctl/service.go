package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newServiceCmd) }

// serviceActions are the RPCs of `service NAME ACTION`.
var serviceActions = map[string]func(machine.MachineServiceClient, context.Context, *machine.ServiceRequest, ...grpc.CallOption) (*machine.ServiceActionResponse, error){
	"start":   machine.MachineServiceClient.ServiceStart,
	"stop":    machine.MachineServiceClient.ServiceStop,
	"restart": machine.MachineServiceClient.ServiceRestart,
}

func newServiceCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "service NAME [status|start|stop|restart]",
		Short: "Show a service's state and recent events, or start, stop or restart it",
		Example: `  plinthctl service etcd
  plinthctl service kubelet restart -n 10.5.0.3`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			action := "status"
			if len(args) == 2 {
				action = args[1]
			}
			if _, ok := serviceActions[action]; !ok && action != "status" {
				return fmt.Errorf("unknown action %q: expected status, start, stop or restart", action)
			}
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			if action == "status" {
				return serviceStatus(cmd, nc, args[0])
			}
			return serviceAction(cmd, nc, args[0], action)
		},
	}
}

func serviceAction(cmd *cobra.Command, nc *nodeConn, id, action string) error {
	resp, err := serviceActions[action](nc.c.Machine, nc.fanOut(cmd.Context()), &machine.ServiceRequest{Id: id})
	if err != nil {
		return nc.callError(action+" service "+id, err)
	}
	fails := &failures{out: cmd.ErrOrStderr()}
	for _, item := range fanOutItems(fails, resp.GetMessages()) {
		fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", nc.name(item.GetMetadata()), item.GetResp())
	}
	return fails.err()
}

func serviceStatus(cmd *cobra.Command, nc *nodeConn, id string) error {
	resp, err := nc.c.Machine.ServiceList(nc.fanOut(cmd.Context()), &emptypb.Empty{})
	if err != nil {
		return nc.callError("service "+id, err)
	}
	fails := &failures{out: cmd.ErrOrStderr()}
	printed := 0
	for _, list := range fanOutItems(fails, resp.GetMessages()) {
		node := nc.name(list.GetMetadata())
		s := findService(list.GetServices(), id)
		if s == nil {
			fails.failed(node, fmt.Errorf("no service %q; services: %s", id, serviceIDs(list.GetServices())))
			continue
		}
		if printed > 0 {
			fmt.Fprintln(cmd.OutOrStdout())
		}
		printed++
		if err := printServiceStatus(cmd.OutOrStdout(), node, s); err != nil {
			return err
		}
	}
	return fails.err()
}

func findService(list []*machine.ServiceInfo, id string) *machine.ServiceInfo {
	for _, s := range list {
		if s.GetId() == id {
			return s
		}
	}
	return nil
}

func serviceIDs(list []*machine.ServiceInfo) string {
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.GetId()
	}
	return listOrDash(ids, ", ")
}

// printServiceStatus prints one node's view of a service, its events
// oldest first.
func printServiceStatus(out io.Writer, node string, s *machine.ServiceInfo) error {
	w := newTable(out)
	health := healthWord(s.GetHealth())
	if msg := s.GetHealth().GetLastMessage(); msg != "" {
		health += " (" + msg + ")"
	}
	fmt.Fprintf(w, "NODE\t%s\n", node)
	fmt.Fprintf(w, "ID\t%s\n", s.GetId())
	fmt.Fprintf(w, "STATE\t%s\n", s.GetState())
	fmt.Fprintf(w, "HEALTH\t%s\n", health)
	fmt.Fprintf(w, "DEPENDS ON\t%s\n", listOrDash(s.GetDependsOn(), ", "))
	label := "EVENTS"
	for _, ev := range s.GetEvents() {
		fmt.Fprintf(w, "%s\t[%s]: %s (%s)\n", label, ev.GetState(), strings.TrimSpace(ev.GetMsg()), ago(tsTime(ev.GetTs())))
		label = ""
	}
	if label != "" {
		fmt.Fprintf(w, "EVENTS\t-\n")
	}
	return w.Flush()
}
