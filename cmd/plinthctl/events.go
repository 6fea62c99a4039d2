package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newEventsCmd) }

// eventsFlags are the flags of `plinthctl events`.
type eventsFlags struct {
	// Tail replays that many past events first (-1: all the node keeps).
	Tail int32
}

func newEventsCmd(g *globalFlags) *cobra.Command {
	f := &eventsFlags{}
	cmd := &cobra.Command{
		Use:   "events [--tail N]",
		Short: "Stream the nodes' events: sequences, phases, services, config, machine status",
		Long: `Print the nodes' events as they happen, one line each: node, time, type and
details, until interrupted. --tail replays past events first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, err := connect(cmd, g)
			if err != nil {
				return err
			}
			defer nc.close()
			stream, err := nc.c.Machine.Events(nc.fanOut(cmd.Context()), &machine.EventsRequest{TailEvents: f.Tail})
			if err != nil {
				return nc.callError("events", err)
			}
			fails := &failures{out: cmd.ErrOrStderr()}
			width := nodeWidth(nc)
			err = recvAll(stream.Recv, func(ev *machine.Event) error {
				if !fails.check(nc, ev.GetMetadata()) {
					printEvent(cmd.OutOrStdout(), width, nc.name(ev.GetMetadata()), ev)
				}
				return nil
			})
			if err != nil && cmd.Context().Err() == nil {
				return nc.callError("events", err)
			}
			return fails.err()
		},
	}
	cmd.Flags().Int32Var(&f.Tail, "tail", 0, "replay the last N events first (-1: all kept)")
	return cmd
}

// nodeWidth is the width of the node column of streamed lines.
func nodeWidth(nc *nodeConn) int {
	if len(nc.nodes) == 0 {
		return len(nc.nameOf(""))
	}
	w := 0
	for _, n := range nc.nodes {
		w = max(w, len(n))
	}
	return w
}

// printEvent prints "NODE  TIME  TYPE      DETAILS" with fixed-width
// columns, so that a stream of lines stays aligned.
func printEvent(out io.Writer, width int, node string, ev *machine.Event) {
	typ, details := eventDetails(ev)
	when := "-"
	if t := tsTime(ev.GetTime()); !t.IsZero() {
		when = t.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(out, "%-*s  %-20s  %-8s  %s\n", width, node, when, typ, details)
}

// eventDetails returns an event's type and what happened, in words.
func eventDetails(ev *machine.Event) (typ, details string) {
	switch p := ev.GetPayload().(type) {
	case *machine.Event_Sequence:
		s := p.Sequence
		return "sequence", s.GetSequence() + " " + actionWord(s.GetAction() == machine.SequenceEvent_START, s.GetError())
	case *machine.Event_Phase:
		s := p.Phase
		return "phase", s.GetSequence() + "/" + s.GetPhase() + " " + actionWord(s.GetAction() == machine.PhaseEvent_START, s.GetError())
	case *machine.Event_Service:
		s := p.Service
		d := s.GetService() + " " + s.GetState()
		if s.GetMessage() != "" {
			d += ": " + s.GetMessage()
		}
		return "service", d
	case *machine.Event_Config:
		return "config", p.Config.GetMessage()
	case *machine.Event_Status:
		ready := "not ready"
		if p.Status.GetReady() {
			ready = "ready"
		}
		return "status", "stage " + p.Status.GetStage() + ", " + ready
	}
	return "unknown", fmt.Sprintf("event %s", ev.GetId())
}

// actionWord is "started", "finished" or "failed: ERROR".
func actionWord(start bool, errMsg string) string {
	switch {
	case start:
		return "started"
	case errMsg != "":
		return "failed: " + errMsg
	default:
		return "finished"
	}
}
