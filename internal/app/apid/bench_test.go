package apid

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/apid/certs/certstest"
	"github.com/plinth-os/plinth/pkg/machinery/role"
)

// BenchmarkVersionRoundTrip measures a Version call from a client through
// apid (mutual TLS on loopback, authorization, forwarding) to a fake
// machined on a Unix socket and back. Besides ns/op it reports the median
// and 99th percentile of the calls' durations.
func BenchmarkVersionRoundTrip(b *testing.B) {
	ca := certstest.NewCA(b)
	n := startNode(b, ca, "bench")
	client := machine.NewMachineServiceClient(dial(b, n.addr, certstest.ClientConfig(ca, ca.ClientCert(b, string(role.Reader)))))
	ctx := b.Context()
	// Connect and warm up outside the measurement.
	if _, err := client.Version(ctx, &emptypb.Empty{}); err != nil {
		b.Fatal(err)
	}

	var samples []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := client.Version(ctx, &emptypb.Empty{}); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))
	}
	n.machined.received() // drop the records
	slices.Sort(samples)
	b.ReportMetric(float64(percentile(samples, 50).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(percentile(samples, 99).Nanoseconds()), "p99-ns")
}

// percentile returns the p-th percentile of sorted samples.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100]
}
