package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
)

func init() { registerCommand(newPsCmd) }

// psFlags are the flags of `plinthctl ps`.
type psFlags struct {
	// Sort orders processes: pid (ascending), rss or cpu (descending).
	Sort string
}

// processOrders compare two processes for each --sort value.
var processOrders = map[string]func(a, b *machine.ProcessInfo) int{
	"pid": func(a, b *machine.ProcessInfo) int { return cmp.Compare(a.GetPid(), b.GetPid()) },
	"rss": func(a, b *machine.ProcessInfo) int {
		return cmp.Or(cmp.Compare(b.GetResidentMemory(), a.GetResidentMemory()), cmp.Compare(a.GetPid(), b.GetPid()))
	},
	"cpu": func(a, b *machine.ProcessInfo) int {
		return cmp.Or(cmp.Compare(b.GetCpuTime(), a.GetCpuTime()), cmp.Compare(a.GetPid(), b.GetPid()))
	},
}

func newPsCmd(g *globalFlags) *cobra.Command {
	f := &psFlags{}
	cmd := &cobra.Command{
		Use:   "ps [--sort pid|rss|cpu]",
		Short: "List the nodes' processes",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return f.run(cmd, g) },
	}
	cmd.Flags().StringVar(&f.Sort, "sort", "pid", "order: pid, rss (resident memory, largest first) or cpu (CPU time, largest first)")
	return cmd
}

func (f *psFlags) run(cmd *cobra.Command, g *globalFlags) error {
	order, ok := processOrders[f.Sort]
	if !ok {
		return fmt.Errorf("--sort %q: expected pid, rss or cpu", f.Sort)
	}
	nc, err := connect(cmd, g)
	if err != nil {
		return err
	}
	defer nc.close()
	resp, err := nc.c.Machine.Processes(nc.fanOut(cmd.Context()), &emptypb.Empty{})
	if err != nil {
		return nc.callError("list processes", err)
	}
	fails := &failures{out: cmd.ErrOrStderr()}
	w := newTable(cmd.OutOrStdout())
	writeRow(w, nc.multi(), "NODE", "PID", "STATE", "THREADS", "CPU-TIME", "VIRTMEM", "RESMEM", "COMMAND")
	for _, item := range fanOutItems(fails, resp.GetMessages()) {
		node := nc.name(item.GetMetadata())
		procs := slices.Clone(item.GetProcesses())
		slices.SortStableFunc(procs, order)
		for _, p := range procs {
			writeRow(w, nc.multi(), node,
				strconv.Itoa(int(p.GetPid())), p.GetState(), strconv.Itoa(int(p.GetThreads())),
				cpuTime(p.GetCpuTime()), humanBytes(p.GetVirtualMemory()), humanBytes(p.GetResidentMemory()),
				commandLine(p))
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return fails.err()
}

// cpuTime renders seconds of CPU time as a duration to the hundredth.
func cpuTime(seconds float64) string {
	return time.Duration(seconds * float64(time.Second)).Round(10 * time.Millisecond).String()
}

// commandLine is the full command line when known, else the command name.
func commandLine(p *machine.ProcessInfo) string {
	if p.GetArgs() != "" {
		return p.GetArgs()
	}
	if p.GetExecutable() != "" {
		return p.GetExecutable()
	}
	return p.GetCommand()
}
