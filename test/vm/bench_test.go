//go:build vm

package vm

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/test/vm/qemu"
)

// BenchmarkBootToInit boots the image b.N times (use -benchtime=5x) and
// reports the medians, in seconds, of: kernel start → init start (kernel
// uptime printed by init), init → exec of machined, exec → maintenance
// banner, QEMU start → init and QEMU start → banner; and QEMU's CPU time
// to the banner and from init's exec line to the banner (machined's start,
// which reads the squashfs), the figures least disturbed by other work on
// the host.
func BenchmarkBootToInit(b *testing.B) {
	cfg := vmConfig(b)
	var all []qemu.BootTimes
	var cpu, machinedCPU []float64
	for i := 0; i < b.N; i++ {
		m, err := qemu.Start(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
		_, err = m.Console.WaitFor(ctx, qemu.InitExec)
		atExec, cerr := m.CPUTime()
		if err == nil {
			_, err = m.Console.WaitFor(ctx, qemu.Maintenance)
		}
		cancel()
		if c, cerr2 := m.CPUTime(); cerr == nil && cerr2 == nil {
			cpu = append(cpu, c.Seconds())
			machinedCPU = append(machinedCPU, (c - atExec).Seconds())
		}
		m.Stop()
		if err != nil {
			b.Fatalf("boot %d: %v\n%s", i, err, m.Console)
		}
		t, err := qemu.ParseBoot(m.Started, m.Console.Lines())
		if err != nil {
			b.Fatalf("boot %d: %v", i, err)
		}
		all = append(all, t)
	}
	pick := func(f func(qemu.BootTimes) time.Duration) float64 {
		v := make([]float64, len(all))
		for i, t := range all {
			v[i] = f(t).Seconds()
		}
		return median(v)
	}
	b.ReportMetric(pick(func(t qemu.BootTimes) time.Duration { return t.KernelToInit }), "kernel-to-init-s")
	b.ReportMetric(pick(func(t qemu.BootTimes) time.Duration { return t.InitToExec }), "init-to-exec-s")
	b.ReportMetric(pick(func(t qemu.BootTimes) time.Duration { return t.ExecToMaintenance }), "exec-to-maintenance-s")
	b.ReportMetric(pick(func(t qemu.BootTimes) time.Duration { return t.QemuToInit }), "qemu-to-init-s")
	b.ReportMetric(pick(func(t qemu.BootTimes) time.Duration { return t.QemuToMaintenance }), "qemu-to-maintenance-s")
	if len(cpu) > 0 {
		b.ReportMetric(median(cpu), "qemu-cpu-s")
		b.ReportMetric(median(machinedCPU), "machined-cpu-s")
	}
	b.ReportMetric(0, "ns/op")
}

func median(v []float64) float64 {
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// benchKernelArgs are the cluster create flags that add the kernel
// arguments of PLINTH_BENCH_KERNEL_ARGS (space-separated) to the QEMU
// benchmarks' nodes, to compare settings (e.g. plinth.memtune=0).
func benchKernelArgs() []string {
	var args []string
	for _, a := range strings.Fields(os.Getenv("PLINTH_BENCH_KERNEL_ARGS")) {
		args = append(args, "--extra-kernel-args", a)
	}
	return args
}
