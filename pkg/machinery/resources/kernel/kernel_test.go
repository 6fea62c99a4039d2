package kernel_test

import (
	"strings"
	"testing"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/kernel"
)

func TestKernelParamStatusRow(t *testing.T) {
	reg := resource.NewRegistry()
	if err := reg.Register(kernel.Definitions...); err != nil {
		t.Fatal(err)
	}
	s := kernel.NewKernelParamStatus("vm.overcommit_memory")
	s.TypedSpec().Value, s.TypedSpec().Origin, s.TypedSpec().Skipped = "1", kernel.OriginDefault, true
	s.TypedSpec().Error = "not set in container mode"
	def, err := reg.Lookup("sysctls")
	if err != nil {
		t.Fatal(err)
	}
	row, err := def.Row(s)
	if err != nil || !strings.Contains(strings.Join(row, " "), "not set in container mode") || s.Metadata().ID != "vm.overcommit_memory" {
		t.Fatalf("row %q, %v", row, err)
	}
}
