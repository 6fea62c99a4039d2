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

// nodeRSS sums the resident memory (VmRSS) of each named process of node.
func nodeRSS(ctx context.Context, c *client.Client, node string) (map[string]uint64, error) {
	resp, err := c.Machine.Processes(client.WithNode(ctx, node), &emptypb.Empty{})
	if err != nil {
		return nil, fmt.Errorf("processes of %s: %w", node, err)
	}
	out := map[string]uint64{}
	for _, item := range resp.GetMessages() {
		if msg := item.GetMetadata().GetError(); msg != "" {
			return nil, fmt.Errorf("processes of %s: %s", node, msg)
		}
		for _, p := range item.GetProcesses() {
			out[processName(p.GetCommand(), p.GetArgs())] += p.GetResidentMemory()
		}
	}
	return out, nil
}

// BenchmarkNodeMemory creates a cluster of one control plane and one
// worker, leaves it idle for memorySettle, and prints the resident memory
// of every process of each node (the Processes RPC's VmRSS), reporting
// the worker's own processes (machined, apid, containerd, kubelet,
// kube-proxy) and the control plane's total in MiB. Run it with
// -benchtime 1x.
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
	var worker, cp map[string]uint64
	for range b.N {
		if worker, err = nodeRSS(ctx, cl, tc.worker.IP.String()); err != nil {
			b.Fatal(err)
		}
		if cp, err = nodeRSS(ctx, cl, tc.cp.IP.String()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "PROCESS\tWORKER MiB\tCONTROL PLANE MiB\t")
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
	var own, wTotal, cpTotal uint64
	for _, n := range names {
		fmt.Fprintf(w, "%s\t%s\t%s\t\n", n, mib(worker[n]), mib(cp[n]))
		wTotal += worker[n]
		cpTotal += cp[n]
		if slices.Contains(workerOwn, n) {
			own += worker[n]
		}
	}
	fmt.Fprintf(w, "total\t%s\t%s\t\n", mib(wTotal), mib(cpTotal))
	fmt.Fprintf(w, "worker's own (%s)\t%s\t\t\n", strings.Join(workerOwn, "+"), mib(own))
	_ = w.Flush()
	b.Logf("resident memory after %s idle:\n%s", memorySettle, sb.String())
	b.ReportMetric(float64(own)/(1<<20), "worker-own-MiB")
	b.ReportMetric(float64(cpTotal)/(1<<20), "cp-MiB")
	b.ReportMetric(0, "ns/op")
}
