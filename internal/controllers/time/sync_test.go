package time_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	ctime "github.com/plinth-os/plinth/internal/controllers/time"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/sys/ntp"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
	restime "github.com/plinth-os/plinth/pkg/machinery/resources/time"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeNTP answers queries from a script per server; an empty script is an
// unreachable server. It records the queries and the clock corrections.
type fakeNTP struct {
	mu      sync.Mutex
	offsets map[string][]time.Duration
	queries []string
	clock   []string
}

func newFakeNTP() *fakeNTP { return &fakeNTP{offsets: map[string][]time.Duration{}} }

func (f *fakeNTP) answer(server string, offsets ...time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offsets[server] = append(f.offsets[server], offsets...)
}

func (f *fakeNTP) query(_ context.Context, server string) (ntp.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, server)
	q := f.offsets[server]
	if len(q) == 0 {
		return ntp.Response{}, errors.New("no answer from " + server)
	}
	f.offsets[server] = q[1:]
	return ntp.Response{Offset: q[0]}, nil
}

func (f *fakeNTP) Step(d time.Duration) error { return f.record("step " + d.String()) }
func (f *fakeNTP) Slew(d time.Duration) error { return f.record("slew " + d.String()) }

func (f *fakeNTP) record(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = append(f.clock, s)
	return nil
}

func (f *fakeNTP) get() (queries, clock []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries), slices.Clone(f.clock)
}

func controller(f *fakeNTP, mode validation.Mode) *ctime.SyncController {
	return &ctime.SyncController{
		Mode: mode, Query: f.query, Clock: f,
		MinPoll: time.Millisecond, MaxPoll: 4 * time.Millisecond,
		RetryInitial: time.Millisecond, RetryMax: 4 * time.Millisecond,
	}
}

func status(t *testing.T, h *ctest.Harness) restime.TimeStatusSpec {
	t.Helper()
	r := ctest.Get[restime.TimeStatusSpec](t, h.State, restime.NamespaceName, restime.TimeStatusType, restime.TimeStatusID)
	if r == nil {
		return restime.TimeStatusSpec{}
	}
	return *r.TypedSpec()
}

func timeConfig(tc *v1alpha1.Time) *v1alpha1.MachineConfig {
	m := ctest.MachineConfig(v1alpha1.TypeWorker, nil)
	m.Machine.Time = tc
	return m
}

func TestContainerSharesHostClock(t *testing.T) {
	f := newFakeNTP()
	f.answer("pool.ntp.org", time.Second)
	h := ctest.New(t, controller(f, validation.ModeContainer))
	h.Start(t)
	ctest.SetConfig(t, h.State, timeConfig(&v1alpha1.Time{Servers: []string{"pool.ntp.org"}}))
	ctest.Eventually(t, "host status", func() bool { s := status(t, h); return s.Mode == restime.ModeHost && s.Synced })
	time.Sleep(20 * time.Millisecond)
	if q, c := f.get(); len(q) != 0 || len(c) != 0 {
		t.Fatalf("container mode queried %v and set the clock %v", q, c)
	}
}

func TestDisabled(t *testing.T) {
	f := newFakeNTP()
	h := ctest.New(t, controller(f, validation.ModeMetal))
	ctest.SetConfig(t, h.State, timeConfig(&v1alpha1.Time{Disabled: true, Servers: []string{"a"}}))
	h.Start(t)
	ctest.Eventually(t, "disabled status", func() bool { return status(t, h).Mode == restime.ModeDisabled })
	time.Sleep(20 * time.Millisecond)
	if q, c := f.get(); len(q) != 0 || len(c) != 0 {
		t.Fatalf("disabled sync queried %v and set the clock %v", q, c)
	}
}

func TestStepThenSlew(t *testing.T) {
	f := newFakeNTP()
	f.answer("b", 2*time.Second, 100*time.Millisecond, -200*time.Millisecond, 700*time.Millisecond)
	h := ctest.New(t, controller(f, validation.ModeMetal))
	h.Start(t)
	ctest.SetConfig(t, h.State, timeConfig(&v1alpha1.Time{Servers: []string{"a", "b"}}))
	want := []string{"step 2s", "slew 100ms", "slew -200ms", "step 700ms"}
	ctest.Eventually(t, "four corrections", func() bool { _, c := f.get(); return len(c) >= len(want) })
	if _, c := f.get(); !slices.Equal(c[:len(want)], want) {
		t.Fatalf("corrections %v, want %v", c, want)
	}
	queries, _ := f.get()
	if i := slices.Index(queries, "a"); i < 0 || i+1 >= len(queries) || queries[i+1] != "b" {
		t.Fatalf("queries %v: servers not tried in order", queries)
	}
	ctest.Eventually(t, "status", func() bool {
		s := status(t, h)
		return s.Synced && s.Server == "b" && s.Adjustment == "step" && s.Offset == "700ms" && !s.LastSync.IsZero()
	})
	// b has no more answers: the error shows, the clock stays synced.
	ctest.Eventually(t, "error reported", func() bool { s := status(t, h); return s.Synced && strings.Contains(s.Error, "no answer from b") })
}

func TestServersFromDHCPThenDefault(t *testing.T) {
	f := newFakeNTP()
	f.answer("10.0.2.4", 0)
	h := ctest.New(t, controller(f, validation.ModeMetal))
	h.Start(t)
	lease := resnet.NewDHCPLease("eth0")
	lease.TypedSpec().NTP = []string{"10.0.2.4"}
	if err := h.State.Create(context.Background(), lease, runtime.WithOwner("network.DHCPController")); err != nil {
		t.Fatal(err)
	}
	ctest.Eventually(t, "synced from DHCP's server", func() bool { s := status(t, h); return s.Synced && s.Server == "10.0.2.4" })

	// The config's servers take over.
	f.answer("time.lab", time.Millisecond)
	ctest.SetConfig(t, h.State, timeConfig(&v1alpha1.Time{Servers: []string{"time.lab"}}))
	ctest.Eventually(t, "synced from the config's server", func() bool { return status(t, h).Server == "time.lab" })
	if _, c := f.get(); c[0] != "step 0s" || c[1] != "slew 1ms" {
		t.Fatalf("corrections %v: only the first sync steps", c)
	}

	// Without config nor lease: pool.ntp.org.
	ctest.DestroyConfig(t, h.State)
	if err := h.State.Destroy(context.Background(), lease.Metadata().Ref(), runtime.WithOwner("network.DHCPController")); err != nil {
		t.Fatal(err)
	}
	ctest.Eventually(t, "default server tried", func() bool { q, _ := f.get(); return slices.Contains(q, ctime.DefaultServer) })
}

func TestUnreachableRetriesQuietly(t *testing.T) {
	f := newFakeNTP()
	h := ctest.New(t, controller(f, validation.ModeMetal))
	h.Start(t)
	ctest.SetConfig(t, h.State, timeConfig(&v1alpha1.Time{Servers: []string{"a"}}))
	ctest.Eventually(t, "retries", func() bool { q, _ := f.get(); return len(q) >= 10 })
	s := status(t, h)
	if s.Synced || !strings.Contains(s.Error, "no answer from a") || s.Mode != restime.ModeNTP {
		t.Fatalf("status %+v", s)
	}
	if n := strings.Count(h.Logs.String(), "time sync failed, retrying in the background\" component=controller-runtime controller=time.SyncController servers=[a]"); n != 1 {
		t.Fatalf("%d warnings for one outage:\n%s", n, h.Logs.String())
	}
}
