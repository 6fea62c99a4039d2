package inmem_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/runtime/inmem"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	ns      = "test"
	typ     = "Widgets.test.plinth.dev"
	ownerA  = "test.AController"
	ownerB  = "test.BController"
	timeout = 10 * time.Second
)

type widgetSpec struct {
	Size  int      `json:"size"`
	Parts []string `json:"parts,omitempty"`
}

type widget = resource.Typed[widgetSpec]

func newWidget(id string, size int) *widget {
	return resource.NewTyped(ns, typ, id, widgetSpec{Size: size})
}

func ref(id string) resource.Ref {
	return resource.Ref{Namespace: ns, Type: typ, ID: id}
}

// fakeClock returns increasing times, one second apart.
func fakeClock() func() time.Time {
	t := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	return func() time.Time {
		t = t.Add(time.Second)

		return t
	}
}

func newState(opts ...inmem.Option) *inmem.State {
	return inmem.New(append([]inmem.Option{inmem.WithClock(fakeClock())}, opts...)...)
}
