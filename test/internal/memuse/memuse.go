// Package memuse reads the resident memory of a node's processes through
// the Plinth API and prints it as the memory benchmarks report it.
package memuse

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/client"
)

// WorkerOwn are a worker's own processes: what Plinth costs on every node
// besides the pods.
var WorkerOwn = []string{"machined", "apid", "containerd", "kubelet", "kube-proxy"}

// Use is the memory of the processes of one name.
type Use struct {
	// RSS is VmRSS (the Processes RPC's resident memory): it counts the
	// pages of a binary every process maps, shared or not.
	RSS uint64
	// Anon is RssAnon (from /proc/PID/status): the process's own heap and
	// stacks, not the binary's pages.
	Anon uint64
}

func (u *Use) add(v Use) { u.RSS += v.RSS; u.Anon += v.Anon }

// ProcessName names a process for the table: the program of the
// multi-call binaries (plinth, kube) rather than the binary.
func ProcessName(command, args string) string {
	f := strings.Fields(args)
	if (command == "plinth" || command == "kube") && len(f) > 1 {
		return f[1]
	}
	if command == "" && len(f) > 0 {
		return filepath.Base(f[0])
	}
	return command
}

// Node sums the memory of each named process of node.
func Node(ctx context.Context, c *client.Client, node string) (map[string]Use, error) {
	resp, err := c.Machine.Processes(client.WithNode(ctx, node), &emptypb.Empty{})
	if err != nil {
		return nil, fmt.Errorf("processes of %s: %w", node, err)
	}
	out := map[string]Use{}
	for _, item := range resp.GetMessages() {
		if msg := item.GetMetadata().GetError(); msg != "" {
			return nil, fmt.Errorf("processes of %s: %s", node, msg)
		}
		for _, p := range item.GetProcesses() {
			name := ProcessName(p.GetCommand(), p.GetArgs())
			u := out[name]
			u.add(Use{RSS: p.GetResidentMemory(), Anon: rssAnon(ctx, c, node, p.GetPid())})
			out[name] = u
		}
	}
	return out, nil
}

// rssAnon reads RssAnon of a process of node (0 when it is gone).
func rssAnon(ctx context.Context, c *client.Client, node string, pid int32) uint64 {
	stream, err := c.Machine.Read(client.WithNode(ctx, node), &machine.ReadRequest{Path: fmt.Sprintf("/proc/%d/status", pid)})
	if err != nil {
		return 0
	}
	var b strings.Builder
	for {
		d, err := stream.Recv()
		if err != nil {
			break
		}
		b.Write(d.GetBytes())
	}
	for line := range strings.SplitSeq(b.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			var kb uint64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// Report is a worker's and a control plane's memory, as a table.
type Report struct {
	// Table has a row per process name, the totals and the worker's own.
	Table string
	// Own is the sum of the worker's WorkerOwn processes; ControlPlane the
	// control plane's total.
	Own, ControlPlane Use
}

// Tabulate lays out the memory of a worker and a control plane.
func Tabulate(worker, cp map[string]Use) Report {
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "PROCESS\tWORKER RSS\tWORKER ANON\tCONTROL PLANE RSS\tCONTROL PLANE ANON\t")
	names := slices.Sorted(maps.Keys(cp))
	for n := range worker {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var r Report
	var wTotal Use
	for _, n := range names {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t\n", n, mib(worker[n].RSS), mib(worker[n].Anon), mib(cp[n].RSS), mib(cp[n].Anon))
		wTotal.add(worker[n])
		r.ControlPlane.add(cp[n])
		if slices.Contains(WorkerOwn, n) {
			r.Own.add(worker[n])
		}
	}
	fmt.Fprintf(w, "total\t%s\t%s\t%s\t%s\t\n", mib(wTotal.RSS), mib(wTotal.Anon), mib(r.ControlPlane.RSS), mib(r.ControlPlane.Anon))
	fmt.Fprintf(w, "worker's own (%s)\t%s\t%s\t\t\t\n", strings.Join(WorkerOwn, "+"), mib(r.Own.RSS), mib(r.Own.Anon))
	_ = w.Flush()
	r.Table = sb.String()
	return r
}

// MiB converts bytes to MiB.
func MiB(v uint64) float64 { return float64(v) / (1 << 20) }

func mib(v uint64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", MiB(v))
}
