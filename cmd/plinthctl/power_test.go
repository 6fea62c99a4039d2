package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/pkg/machinery/client/clienttest"
)

// callSet sorts calls and drops repeated ones: how often a waiter polled
// and whether its event stream reached the node before the action did
// depend on timing.
func callSet(calls []string) []string {
	slices.Sort(calls)
	return slices.Compact(calls)
}

func TestPowerCommands(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
		wait   bool // the fake plays the action: events, then down (and back)
		setup  func(f *fakeNode)
	}{
		{golden: "reboot/wait", args: []string{"reboot"}, wait: true},
		{golden: "reboot/no-wait-fanout", args: []string{"reboot", "--mode", "powercycle", "-n", fanOut}},
		{golden: "reboot/bad-mode", args: []string{"reboot", "--mode", "kexec"}},
		{golden: "reboot/timeout", args: []string{"reboot", "--timeout", "300ms"}, wait: true,
			setup: func(f *fakeNode) { f.stuck = true }},
		{golden: "shutdown/wait", args: []string{"shutdown", "--force"}, wait: true},
		{golden: "shutdown/no-wait", args: []string{"shutdown", "--wait=false"}},
		{golden: "reset/maintenance", args: []string{"reset", "--reboot", "--context", "direct"}, wait: true,
			setup: func(f *fakeNode) {
				cfg, _, err := clienttest.MaintenanceTLS()
				if err != nil {
					t.Fatal(err)
				}
				f.afterPower = cfg
			}},
		{golden: "reset/wipe-no-wait", args: []string{"reset", "--graceful=false", "--wipe-mode", "system-disk",
			"--system-labels-to-wipe", "STATE,EPHEMERAL", "-n", "10.5.0.2,10.5.0.3"}},
		{golden: "reset/bad-wipe-mode", args: []string{"reset", "--wipe-mode", "some"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			f := newFakeNode(t)
			f.followEvents = tt.wait
			if tt.setup != nil {
				tt.setup(f)
			}
			got := f.run(t, tt.args...)
			if calls := callSet(f.recorded()); len(calls) > 0 {
				got += "--- calls\n" + strings.Join(calls, "\n") + "\n"
			}
			golden(t, tt.golden+".txt", []byte(got))
		})
	}
}
