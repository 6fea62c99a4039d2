package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/pkg/machinery/client"
	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
)

// memorySettle is how long an idle cluster is left alone before its
// memory is read: startup allocations are collected, caches filled.
const memorySettle = 30 * time.Second

// workerOwn are a worker's own processes: what Plinth costs on every node
// besides the pods.
var workerOwn = []string{"machined", "apid", "containerd", "kubelet", "kube-proxy"}

// processName names a process for the table: the program of the
// multi-call binaries (plinth, kube) rather than the binary.
func processName(command, args string) string {
	f := strings.Fields(args)
	if (command == "plinth" || command == "kube") && len(f) > 1 {
		return f[1]
	}
	if command == "" && len(f) > 0 {
		return filepath.Base(f[0])
	}
	return command
}

// memUse is the memory of the processes of one name.
type memUse struct {
	// rss is VmRSS (the Processes RPC's resident memory): it counts the
	// pages of a binary every process maps, shared or not.
	rss uint64
	// anon is RssAnon (from /proc/PID/status): the process's own heap and
	// stacks, not the binary's pages.
	anon uint64
}

// nodeMemory sums the memory of each named process of node.
func nodeMemory(ctx context.Context, c *client.Client, node string) (map[string]memUse, error) {
	resp, err := c.Machine.Processes(client.WithNode(ctx, node), &emptypb.Empty{})
	if err != nil {
		return nil, fmt.Errorf("processes of %s: %w", node, err)
	}
	out := map[string]memUse{}
	for _, item := range resp.GetMessages() {
		if msg := item.GetMetadata().GetError(); msg != "" {
			return nil, fmt.Errorf("processes of %s: %s", node, msg)
		}
		for _, p := range item.GetProcesses() {
			name := processName(p.GetCommand(), p.GetArgs())
			u := out[name]
			u.rss += p.GetResidentMemory()
			u.anon += rssAnon(ctx, c, node, p.GetPid())
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

// BenchmarkNodeMemory creates a cluster of one control plane and one
// worker, leaves it idle for memorySettle, and prints the resident memory
// of every process of each node (the Processes RPC's VmRSS, and RssAnon
// read from /proc), reporting the worker's own processes (machined, apid,
// containerd, kubelet, kube-proxy) and the control plane's total in MiB.
// VmRSS counts the pages of a binary each process maps: kubelet and
// kube-proxy both map the multi-call kube binary, so their sum counts it
// twice. Run it with -benchtime 1x.
func BenchmarkNodeMemory(b *testing.B) {
	docker := dockerOrSkip(b)
	image := nodeImage(b, docker)
	c := newCtl(b)
	name := fmt.Sprintf("mem-%d", os.Getpid()%100000)
	tc := createCluster(b, c, name, freeSubnet(b, docker).String(), image)
	defer c.run("cluster", "destroy", "--name", name) //nolint:errcheck // best effort; Cleanup retries
	cfg, err := clientconfig.Open(c.config)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	cl, err := client.New(ctx, client.WithContext(cfg.Contexts[name]))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close() //nolint:errcheck // test
	time.Sleep(memorySettle)
	b.ResetTimer()
	var worker, cp map[string]memUse
	for range b.N {
		if worker, err = nodeMemory(ctx, cl, tc.worker.IP.String()); err != nil {
			b.Fatal(err)
		}
		if cp, err = nodeMemory(ctx, cl, tc.cp.IP.String()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
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
	mib := func(v uint64) string {
		if v == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", float64(v)/(1<<20))
	}
	var own, wTotal, cpTotal memUse
	add := func(a *memUse, u memUse) { a.rss += u.rss; a.anon += u.anon }
	for _, n := range names {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t\n", n, mib(worker[n].rss), mib(worker[n].anon), mib(cp[n].rss), mib(cp[n].anon))
		add(&wTotal, worker[n])
		add(&cpTotal, cp[n])
		if slices.Contains(workerOwn, n) {
			add(&own, worker[n])
		}
	}
	fmt.Fprintf(w, "total\t%s\t%s\t%s\t%s\t\n", mib(wTotal.rss), mib(wTotal.anon), mib(cpTotal.rss), mib(cpTotal.anon))
	fmt.Fprintf(w, "worker's own (%s)\t%s\t%s\t\t\t\n", strings.Join(workerOwn, "+"), mib(own.rss), mib(own.anon))
	_ = w.Flush()
	b.Logf("memory in MiB after %s idle (RSS: VmRSS, counting every mapped page of the binaries; ANON: RssAnon):\n%s", memorySettle, sb.String())
	b.ReportMetric(float64(own.rss)/(1<<20), "worker-own-MiB")
	b.ReportMetric(float64(own.anon)/(1<<20), "worker-own-anon-MiB")
	b.ReportMetric(float64(cpTotal.rss)/(1<<20), "cp-MiB")
	b.ReportMetric(0, "ns/op")
}
