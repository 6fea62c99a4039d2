package resource_test

import (
	"testing"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

func TestSelector(t *testing.T) {
	labels := map[string]string{"role": "cp", "zone": "a"}

	tests := []struct {
		sel   string
		match bool
	}{
		{"", true},
		{"role=cp", true},
		{"role==cp", true},
		{"role=worker", false},
		{"role!=worker", true},
		{"role!=cp", false},
		{"missing!=x", true},
		{"zone", true},
		{"missing", false},
		{"!missing", true},
		{"!zone", false},
		{" role=cp , zone=a ", true},
		{"role=cp,zone=b", false},
	}

	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			sel, err := resource.ParseSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}

			if got := sel.Matches(labels); got != tt.match {
				t.Fatalf("%q matches = %v, want %v", tt.sel, got, tt.match)
			}

			again, err := resource.ParseSelector(sel.String())
			if err != nil || again.String() != sel.String() {
				t.Fatalf("String() %q does not round trip: %q, %v", sel.String(), again.String(), err)
			}
		})
	}
}

func TestSelectorErrors(t *testing.T) {
	for _, s := range []string{"=v", "a,,b", "!", "a b=c", "!=v"} {
		if _, err := resource.ParseSelector(s); err == nil {
			t.Errorf("ParseSelector(%q) accepted an invalid selector", s)
		}
	}
}
