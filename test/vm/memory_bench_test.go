//go:build vm

package vm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/client"
	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/test/internal/memuse"
)

// memorySettle is how long the idle cluster is left alone before its
// memory is read (as BenchmarkNodeMemory does in Docker).
const memorySettle = 30 * time.Second

// memoryCluster is the QEMU cluster with Kubernetes BenchmarkNodeMemoryQEMU
// reads, created once per test binary and destroyed by TestMain.
var memoryCluster struct {
	once       sync.Once
	err        error
	c          clusterCtl
	name       string
	cp, worker string
}

// BenchmarkNodeMemoryQEMU creates a QEMU cluster of one control plane and
// one worker with Kubernetes (TCG, 2 vCPUs and 2 GiB each as cluster
// create gives them by default, live boots),
// waits until both nodes are Ready and leaves it idle for memorySettle,
// then reads the resident memory of every process of both nodes, as
// BenchmarkNodeMemory does for Docker. Here the node runs its own kernel,
// with init's memory settings (transparent huge pages on madvise, no
// fault-around): the figure of the worker's-own target on a real node.
// Every -count run reads the same cluster again. PLINTH_BENCH_KERNEL_ARGS
// (space-separated) adds kernel arguments, e.g. plinth.memtune=0 to
// compare with the kernel's defaults.
func BenchmarkNodeMemoryQEMU(b *testing.B) {
	m := &memoryCluster
	image := clusterPrereqs(b)
	m.once.Do(func() { m.err = createMemoryCluster(b, image) })
	if m.err != nil {
		b.Fatal(m.err)
	}
	cfg, err := clientconfig.Open(m.c.config)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	cl, err := client.New(ctx, client.WithContext(cfg.Contexts[m.name]))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close() //nolint:errcheck // test
	b.ResetTimer()
	var worker, cp map[string]memuse.Use
	for range b.N {
		if worker, err = memuse.Node(ctx, cl, m.worker); err != nil {
			b.Fatal(err)
		}
		if cp, err = memuse.Node(ctx, cl, m.cp); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	r := memuse.Tabulate(worker, cp)
	b.Logf("QEMU node memory in MiB (RSS: VmRSS; ANON: RssAnon):\n%s", r.Table)
	b.ReportMetric(memuse.MiB(r.Own.RSS), "worker-own-MiB")
	b.ReportMetric(memuse.MiB(r.Own.Anon), "worker-own-anon-MiB")
	b.ReportMetric(memuse.MiB(r.ControlPlane.RSS), "cp-MiB")
	b.ReportMetric(0, "ns/op")
}

// createMemoryCluster creates the cluster and waits until it is idle.
func createMemoryCluster(b *testing.B, image string) error {
	m := &memoryCluster
	dir, err := os.MkdirTemp("", "plinth-bench-mem-")
	if err != nil {
		return err
	}
	m.c = clusterCtl{bin: plinthctlBinaryIn(b, dir), clusters: filepath.Join(dir, "clusters"), config: filepath.Join(dir, "plinthconfig")}
	m.name = fmt.Sprintf("mb-%d", os.Getpid()%100000)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	args := []string{"cluster", "create", "--provisioner", "qemu", "--name", m.name,
		"--controlplanes", "1", "--workers", "1", "--cpus", "2", "--memory", "2048", "--install=false",
		"--skip-kubernetes=false", "--image", image, "--subnet", freeSubnet(b).String(), "--wait-timeout", "20m"}
	args = append(args, benchKernelArgs()...)
	cmd := m.c.command(ctx, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cluster create: %v\n%s", err, out.String())
	}
	b.Logf("QEMU cluster with Kubernetes created in %s", time.Since(start).Round(time.Second))
	cl, err := provision.LoadDir(filepath.Join(m.c.clusters, m.name))
	if err != nil {
		return err
	}
	for _, n := range cl.Nodes {
		if n.Type == "worker" {
			m.worker = n.IP.String()
		} else {
			m.cp = n.IP.String()
		}
	}
	time.Sleep(memorySettle)
	return nil
}

// destroyMemoryCluster removes the benchmark's cluster, if it made one.
func destroyMemoryCluster() {
	m := &memoryCluster
	if m.name == "" {
		return
	}
	if out, err := m.c.run("cluster", "destroy", "--name", m.name); err != nil {
		fmt.Fprintf(os.Stderr, "destroy benchmark cluster %s: %v\n%s", m.name, err, out)
	}
	os.RemoveAll(filepath.Dir(m.c.clusters)) //nolint:errcheck // scratch
}
