package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/client"
	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
	"github.com/plinth-os/plinth/test/internal/memuse"
)

// memorySettle is how long an idle cluster is left alone before its
// memory is read: startup allocations are collected, caches filled.
const memorySettle = 30 * time.Second

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
	var worker, cp map[string]memuse.Use
	for range b.N {
		if worker, err = memuse.Node(ctx, cl, tc.worker.IP.String()); err != nil {
			b.Fatal(err)
		}
		if cp, err = memuse.Node(ctx, cl, tc.cp.IP.String()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	r := memuse.Tabulate(worker, cp)
	b.Logf("memory in MiB after %s idle (RSS: VmRSS, counting every mapped page of the binaries; ANON: RssAnon):\n%s", memorySettle, r.Table)
	b.ReportMetric(memuse.MiB(r.Own.RSS), "worker-own-MiB")
	b.ReportMetric(memuse.MiB(r.Own.Anon), "worker-own-anon-MiB")
	b.ReportMetric(memuse.MiB(r.ControlPlane.RSS), "cp-MiB")
	b.ReportMetric(0, "ns/op")
}
