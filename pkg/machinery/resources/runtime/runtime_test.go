package runtime_test

import (
	"strings"
	"testing"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

func TestDefinitions(t *testing.T) {
	reg := resource.NewRegistry()
	if err := reg.Register(runtime.Definitions...); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"ms": runtime.MachineStatusType, "services": runtime.ServiceType, "svc": runtime.ServiceType} {
		if d, err := reg.Lookup(name); err != nil || d.Type != want {
			t.Errorf("Lookup(%s) = %v, %v", name, d.Type, err)
		}
	}
}

func TestEncoding(t *testing.T) {
	ms := runtime.NewMachineStatus()
	ms.TypedSpec().Stage, ms.TypedSpec().Ready = runtime.StageShuttingDown, false
	out, err := resource.MarshalYAML(ms)
	if err != nil || !strings.Contains(string(out), "stage: shutting down") || !strings.Contains(string(out), "ready: false") {
		t.Fatalf("MarshalYAML = %s, %v", out, err)
	}
	row, err := runtime.Definitions[1].Row(runtime.NewService("apid"))
	if err != nil || len(row) != 3 {
		t.Fatalf("Row = %v, %v", row, err)
	}
}
