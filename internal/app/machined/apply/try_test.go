package apply_test

import (
	"context"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/app/machined/apply"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

func TestTryRollsBack(t *testing.T) {
	old := machineConfig(t, v1alpha1.TypeControlPlane, nil)
	next := machineConfig(t, v1alpha1.TypeControlPlane, withHostname("tried"))
	f := newFixture(old)
	if _, err := f.a.Apply(context.Background(), apply.Request{Data: next, Mode: try}); err != nil {
		t.Fatal(err)
	}
	if activeRaw(f.a) != string(next) || string(f.store.config) != string(old) {
		t.Fatal("try must activate without storing")
	}
	if len(f.clock.timers) != 1 || f.clock.timers[0].d != constants.DefaultTryModeTimeout {
		t.Fatalf("timers = %+v, want one of the default timeout", f.clock.timers)
	}
	f.clock.fire(false)
	if activeRaw(f.a) != string(old) {
		t.Fatal("not rolled back")
	}
	if f.node.count() != 2 || string(f.node.activated[1]) != string(old) {
		t.Fatalf("activations = %d, want the tried then the old config", f.node.count())
	}
	if string(f.store.config) != string(old) {
		t.Fatal("rollback changed STATE")
	}
}

func TestApplyCancelsRollback(t *testing.T) {
	old := machineConfig(t, v1alpha1.TypeControlPlane, nil)
	tried := machineConfig(t, v1alpha1.TypeControlPlane, withHostname("tried"))
	final := machineConfig(t, v1alpha1.TypeControlPlane, withHostname("final"))
	f := newFixture(old)
	if _, err := f.a.Apply(context.Background(), apply.Request{Data: tried, Mode: try, TryTimeout: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if f.clock.timers[0].d != time.Hour {
		t.Fatalf("timeout = %s, want 1h", f.clock.timers[0].d)
	}
	if _, err := f.a.Apply(context.Background(), apply.Request{Data: final, Mode: noReboot}); err != nil {
		t.Fatal(err)
	}
	// Even a timer that fires after being stopped must not roll back.
	f.clock.fire(true)
	if activeRaw(f.a) != string(final) || string(f.store.config) != string(final) {
		t.Fatal("a later apply did not cancel the rollback")
	}
}

func TestConsecutiveTriesRollBackToConfirmed(t *testing.T) {
	old := machineConfig(t, v1alpha1.TypeControlPlane, nil)
	one := machineConfig(t, v1alpha1.TypeControlPlane, withHostname("one"))
	two := machineConfig(t, v1alpha1.TypeControlPlane, withHostname("two"))
	f := newFixture(old)
	for _, data := range [][]byte{one, two} {
		if _, err := f.a.Apply(context.Background(), apply.Request{Data: data, Mode: try}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.fire(false)
	if activeRaw(f.a) != string(old) {
		t.Fatalf("rolled back to %q, want the last stored config", activeRaw(f.a))
	}
}

func TestStagedLeavesTryPending(t *testing.T) {
	old := machineConfig(t, v1alpha1.TypeControlPlane, nil)
	tried := machineConfig(t, v1alpha1.TypeControlPlane, withHostname("tried"))
	f := newFixture(old)
	if _, err := f.a.Apply(context.Background(), apply.Request{Data: tried, Mode: try}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Apply(context.Background(), apply.Request{Data: tried, Mode: staged}); err != nil {
		t.Fatal(err)
	}
	f.clock.fire(false)
	if activeRaw(f.a) != string(old) || string(f.store.staged) != string(tried) {
		t.Fatal("staging must not confirm a try")
	}
}
