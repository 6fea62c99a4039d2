package apply_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/apply"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
)

const (
	auto     = machine.ApplyConfigurationRequest_AUTO
	noReboot = machine.ApplyConfigurationRequest_NO_REBOOT
	reboot   = machine.ApplyConfigurationRequest_REBOOT
	staged   = machine.ApplyConfigurationRequest_STAGED
	try      = machine.ApplyConfigurationRequest_TRY
)

// TestModes is the table of apply behaviour: each mode × a change that
// needs a reboot or not × maintenance or running × dry run or not.
func TestModes(t *testing.T) {
	old := machineConfig(t, v1alpha1.TypeControlPlane, withInstallImage("/a.raw"))
	soft := machineConfig(t, v1alpha1.TypeControlPlane, func(m *v1alpha1.MachineConfig) {
		withInstallImage("/a.raw")(m)
		withHostname("cp-2")(m)
	})
	hard := machineConfig(t, v1alpha1.TypeControlPlane, withInstallImage("/b.raw"))

	// want: the resulting stored config, staged config and active config
	// ("old", "new" or ""), whether a reboot is asked, activations, code.
	type want struct {
		stored, staged, active string
		reboot                 bool
		activations            int
		code                   string
		details                string
	}
	tests := []struct {
		name        string
		maintenance bool
		mode        machine.ApplyConfigurationRequest_Mode
		needReboot  bool
		want        want
	}{
		{"auto soft", false, auto, false, want{"new", "", "new", false, 1, "OK", "without a reboot"}},
		{"auto hard", false, auto, true, want{"new", "", "old", true, 0, "OK", "machine.install"}},
		{"no-reboot soft", false, noReboot, false, want{"new", "", "new", false, 1, "OK", "without a reboot"}},
		{"no-reboot hard", false, noReboot, true, want{"old", "", "old", false, 0, "FailedPrecondition", "machine.install"}},
		{"reboot soft", false, reboot, false, want{"new", "", "old", true, 0, "OK", "with a reboot"}},
		{"reboot hard", false, reboot, true, want{"new", "", "old", true, 0, "OK", "with a reboot"}},
		{"staged soft", false, staged, false, want{"old", "new", "old", false, 0, "OK", "next boot"}},
		{"staged hard", false, staged, true, want{"old", "new", "old", false, 0, "OK", "next boot"}},
		{"try soft", false, try, false, want{"old", "", "new", false, 1, "OK", "try mode"}},
		{"try hard", false, try, true, want{"old", "", "old", false, 0, "FailedPrecondition", "machine.install"}},
		{"maintenance auto", true, auto, false, want{"new", "", "new", false, 0, "OK", "maintenance"}},
		{"maintenance no-reboot", true, noReboot, true, want{"new", "", "new", false, 0, "OK", "maintenance"}},
		{"maintenance reboot", true, reboot, true, want{"new", "", "new", false, 0, "OK", "maintenance"}},
		{"maintenance staged", true, staged, false, want{"new", "", "new", false, 0, "OK", "maintenance"}},
		{"maintenance try", true, try, false, want{"", "", "", false, 0, "FailedPrecondition", "maintenance"}},
	}
	for _, tt := range tests {
		for _, dry := range []bool{false, true} {
			name := tt.name
			if dry {
				name += " dry-run"
			}
			t.Run(name, func(t *testing.T) {
				next := soft
				if tt.needReboot {
					next = hard
				}
				var f *fixture
				if tt.maintenance {
					f = newFixture(nil)
				} else {
					f = newFixture(old)
				}
				res, err := f.a.Apply(context.Background(), apply.Request{Data: next, Mode: tt.mode, DryRun: dry})
				w := tt.want
				if dry && w.code == "OK" {
					// A dry run changes nothing and asks for nothing.
					w.stored, w.staged, w.active, w.reboot, w.activations = "old", "", "old", false, 0
					if tt.maintenance {
						w.stored, w.active = "", ""
					}
				}
				if got := code(err); got != w.code {
					t.Fatalf("code = %s (%v), want %s", got, err, w.code)
				}
				msg := ""
				if err != nil {
					msg = err.Error()
				} else {
					msg = res.Details
					if res.Reboot != w.reboot {
						t.Errorf("reboot = %v, want %v", res.Reboot, w.reboot)
					}
					if dry && (!strings.HasPrefix(res.Details, "dry run") || res.Diff == "") {
						t.Errorf("dry run result = %q, diff %q", res.Details, res.Diff)
					}
				}
				if !strings.Contains(msg, w.details) {
					t.Errorf("message %q does not mention %q", msg, w.details)
				}
				name := func(b []byte) string {
					switch string(b) {
					case string(old):
						return "old"
					case string(next):
						return "new"
					}
					return ""
				}
				if got := name(f.store.config); got != w.stored {
					t.Errorf("stored = %s, want %s", got, w.stored)
				}
				if got := name(f.store.staged); got != w.staged {
					t.Errorf("staged = %s, want %s", got, w.staged)
				}
				if got := name([]byte(activeRaw(f.a))); got != w.active {
					t.Errorf("active = %s, want %s", got, w.active)
				}
				if f.node.count() != w.activations {
					t.Errorf("activations = %d, want %d", f.node.count(), w.activations)
				}
			})
		}
	}
}

func TestMachineTypeChangeNeedsReboot(t *testing.T) {
	cp := machineConfig(t, v1alpha1.TypeControlPlane, nil)
	worker := machineConfig(t, v1alpha1.TypeWorker, nil)
	for _, mode := range []machine.ApplyConfigurationRequest_Mode{noReboot, try} {
		f := newFixture(cp)
		_, err := f.a.Apply(context.Background(), apply.Request{Data: worker, Mode: mode})
		if code(err) != "FailedPrecondition" || !strings.Contains(err.Error(), `from "controlplane" to "worker"`) {
			t.Fatalf("%s: %v", mode, err)
		}
	}
	f := newFixture(cp)
	res, err := f.a.Apply(context.Background(), apply.Request{Data: worker, Mode: auto})
	if err != nil || !res.Reboot || !strings.Contains(res.Details, "machine.type") {
		t.Fatalf("auto: %+v, %v", res, err)
	}
}

func TestInvalidConfigChangesNothing(t *testing.T) {
	old := machineConfig(t, v1alpha1.TypeControlPlane, nil)
	bad := machineConfig(t, v1alpha1.TypeControlPlane, func(m *v1alpha1.MachineConfig) {
		m.Machine.Network = &v1alpha1.Network{Hostname: "Not_Valid"}
		m.Cluster.ClusterName = "Bad Name"
	})
	for _, data := range [][]byte{bad, []byte("machine: [\n"), nil, []byte("kind: Nope\n")} {
		f := newFixture(old)
		_, err := f.a.Apply(context.Background(), apply.Request{Data: data, Mode: auto})
		if code(err) != "InvalidArgument" {
			t.Fatalf("Apply(%.30q) = %v, want InvalidArgument", data, err)
		}
		if string(f.store.config) != string(old) || f.store.staged != nil || activeRaw(f.a) != string(old) || f.node.count() != 0 {
			t.Fatalf("a refused apply changed the node")
		}
	}
	f := newFixture(old)
	_, err := f.a.Apply(context.Background(), apply.Request{Data: bad, Mode: auto})
	for _, want := range []string{"machine.network.hostname", "cluster.clusterName", "line "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestMaintenanceHandsConfigToBoot(t *testing.T) {
	f := newFixture(nil)
	if !f.a.InMaintenance() {
		t.Fatal("not in maintenance")
	}
	next := machineConfig(t, v1alpha1.TypeWorker, nil)
	if _, err := f.a.Apply(context.Background(), apply.Request{Data: next}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, raw, err := f.a.WaitForConfig(ctx)
	if err != nil || cfg == nil || string(raw) != string(next) {
		t.Fatalf("WaitForConfig = %v, %v", cfg, err)
	}
	if f.a.InMaintenance() {
		t.Fatal("still in maintenance after an apply")
	}
}

func TestDryRunDiffIsRedacted(t *testing.T) {
	old := machineConfig(t, v1alpha1.TypeControlPlane, nil)
	next := machineConfig(t, v1alpha1.TypeControlPlane, func(m *v1alpha1.MachineConfig) {
		withHostname("cp-9")(m)
		m.Cluster.Token = "zzzzzz.0123456789abcdef"
	})
	f := newFixture(old)
	res, err := f.a.Apply(context.Background(), apply.Request{Data: next, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Diff, "+    hostname: cp-9") || !strings.Contains(res.Diff, "+  token: '*** (changed)'") {
		t.Fatalf("diff misses changes:\n%s", res.Diff)
	}
	for _, secret := range []string{bundle.Secrets.BootstrapToken, "zzzzzz", bundle.Cluster.Secret, bundle.Machine.TrustdToken} {
		if strings.Contains(res.Diff, secret) {
			t.Fatalf("diff leaks %q:\n%s", secret, res.Diff)
		}
	}
	if !strings.HasPrefix(res.Diff, "--- active\n+++ new\n") {
		t.Fatalf("not a unified diff:\n%s", res.Diff)
	}
}
