package services_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/services"
	"github.com/plinth-os/plinth/internal/runtime/inmem"
	"github.com/plinth-os/plinth/internal/supervisor"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		runHelper()
	}
	goleak.VerifyTestMain(m)
}

func ids(svcs []supervisor.Service) []string {
	out := make([]string, len(svcs))
	for i, s := range svcs {
		out[i] = s.ID()
	}
	return out
}

func TestForMachineType(t *testing.T) {
	opts := services.Options{Root: "/r", Binary: "/bin/plinth"}
	if got := ids(services.ForMachineType("controlplane", opts)); !slices.Equal(got, []string{"apid", "trustd"}) {
		t.Fatalf("control plane services = %v", got)
	}
	if got := ids(services.ForMachineType("worker", opts)); !slices.Equal(got, []string{"apid"}) {
		t.Fatalf("worker services = %v", got)
	}
}

func TestConditionWaitsForCertificates(t *testing.T) {
	root := t.TempDir()
	apid := services.ForMachineType("worker", services.Options{Root: root})[0]
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := apid.Condition().Wait(ctx); err == nil {
		t.Fatal("condition met without certificates")
	}
	for _, f := range services.APICertFiles(root) {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if err := apid.Condition().Wait(ctx2); err != nil {
		t.Fatalf("condition with certificates: %v", err)
	}
}

// recorder is an events.Publisher that keeps what it gets.
type recorder struct{ events []*machine.Event }

func (r *recorder) Publish(ev *machine.Event) { r.events = append(r.events, ev) }

func TestObserver(t *testing.T) {
	st := inmem.New()
	rec := &recorder{}
	var changed []string
	obs := &services.Observer{State: st, Events: rec, Logger: slog.New(slog.DiscardHandler),
		OnChange: func(e supervisor.ServiceEvent) { changed = append(changed, e.State.String()) }}
	obs.Observe(supervisor.ServiceEvent{ID: "apid", State: supervisor.Waiting, Message: "waiting for certs"})
	obs.Observe(supervisor.ServiceEvent{ID: "apid", State: supervisor.Running, Message: "running"})
	r, err := st.Get(context.Background(), rtres.NewService("apid").Metadata().Ref())
	if err != nil {
		t.Fatal(err)
	}
	spec := *r.(*rtres.Service).TypedSpec()
	want := rtres.ServiceSpec{State: "Running", Running: true, Healthy: true, Unknown: true, Message: "running"}
	if spec != want || r.Metadata().Version != 2 {
		t.Fatalf("resource = %+v (v%d), want %+v", spec, r.Metadata().Version, want)
	}
	if len(rec.events) != 2 || rec.events[1].GetService().GetState() != "Running" || len(changed) != 2 {
		t.Fatalf("events = %v, changes %v", rec.events, changed)
	}
}
