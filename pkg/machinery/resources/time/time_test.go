package time_test

import (
	"strings"
	"testing"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
	restime "github.com/plinth-os/plinth/pkg/machinery/resources/time"
)

func TestTimeStatusRow(t *testing.T) {
	reg := resource.NewRegistry()
	if err := reg.Register(restime.Definitions...); err != nil {
		t.Fatal(err)
	}
	s := restime.NewTimeStatus()
	*s.TypedSpec() = restime.TimeStatusSpec{Mode: restime.ModeNTP, Synced: true, Server: "pool.ntp.org", Offset: "-1.5ms"}
	def, err := reg.Lookup("time")
	if err != nil {
		t.Fatal(err)
	}
	row, err := def.Row(s)
	if err != nil || strings.Join(row, " ") != "ntp true pool.ntp.org -1.5ms" {
		t.Fatalf("row %q, %v", row, err)
	}
}
