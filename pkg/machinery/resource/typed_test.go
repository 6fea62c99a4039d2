package resource_test

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

type nested struct {
	Name  string
	Tags  []string
	Attrs map[string]*int
}

type reflectSpec struct {
	Addr    netip.Addr
	When    time.Time
	Ptr     *nested
	List    []nested
	Any     any
	Array   [2][]int
	private []int
}

type copierSpec struct {
	Values []int
	copied bool
}

func (c copierSpec) DeepCopy() copierSpec {
	return copierSpec{Values: append([]int(nil), c.Values...), copied: true}
}

func TestTypedDeepCopyReflection(t *testing.T) {
	one := 1
	spec := reflectSpec{
		Addr:    netip.MustParseAddr("10.0.0.1"),
		When:    time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		Ptr:     &nested{Name: "p", Tags: []string{"a"}, Attrs: map[string]*int{"one": &one}},
		List:    []nested{{Name: "l", Tags: []string{"b"}}},
		Any:     map[string]any{"k": []any{"v"}},
		Array:   [2][]int{{1}, {2}},
		private: []int{7},
	}

	orig := resource.NewTyped("ns", "Specs.test.plinth.dev", "a", spec)
	orig.Metadata().Labels = map[string]string{"l": "v"}
	orig.Metadata().Finalizers = []string{"f"}

	cp := orig.DeepCopy().(*resource.Typed[reflectSpec])
	if !reflect.DeepEqual(orig, cp) {
		t.Fatalf("copy differs from original:\n%+v\n%+v", orig, cp)
	}

	// Mutating the copy must leave the original alone.
	c := cp.TypedSpec()
	*c.Ptr.Attrs["one"] = 2
	c.Ptr.Tags[0] = "x"
	c.List[0].Tags[0] = "x"
	c.Any.(map[string]any)["k"].([]any)[0] = "x"
	c.Array[0][0] = 9
	cp.Metadata().Labels["l"] = "x"
	cp.Metadata().Finalizers[0] = "x"

	o := orig.TypedSpec()
	if one != 1 || o.Ptr.Tags[0] != "a" || o.List[0].Tags[0] != "b" ||
		o.Any.(map[string]any)["k"].([]any)[0] != "v" || o.Array[0][0] != 1 {
		t.Fatalf("original spec changed through the copy: %+v", o)
	}

	if orig.Metadata().Labels["l"] != "v" || orig.Metadata().Finalizers[0] != "f" {
		t.Fatalf("original metadata changed through the copy: %+v", orig.Metadata())
	}
}

func TestTypedDeepCopyUsesSpecMethod(t *testing.T) {
	orig := resource.NewTyped("ns", "T", "a", copierSpec{Values: []int{1}})
	cp := orig.DeepCopy().(*resource.Typed[copierSpec])

	if !cp.TypedSpec().copied {
		t.Fatal("DeepCopy did not use the spec's DeepCopy method")
	}

	cp.TypedSpec().Values[0] = 2
	if orig.TypedSpec().Values[0] != 1 {
		t.Fatal("original changed through the copy")
	}
}

func TestMetadataValidate(t *testing.T) {
	tests := []struct {
		name string
		md   resource.Metadata
		ok   bool
	}{
		{"complete", resource.NewMetadata("ns", "T", "id"), true},
		{"no namespace", resource.NewMetadata("", "T", "id"), false},
		{"no type", resource.NewMetadata("ns", "", "id"), false},
		{"no id", resource.NewMetadata("ns", "T", ""), false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.md.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestPhaseText(t *testing.T) {
	for _, p := range []resource.Phase{resource.PhaseRunning, resource.PhaseTearingDown} {
		text, err := p.MarshalText()
		if err != nil {
			t.Fatal(err)
		}

		var back resource.Phase
		if err := back.UnmarshalText(text); err != nil || back != p {
			t.Fatalf("round trip of %v: got %v, %v", p, back, err)
		}
	}

	var p resource.Phase
	if err := p.UnmarshalText([]byte("gone")); err == nil {
		t.Fatal("unknown phase accepted")
	}

	if _, err := resource.Phase(7).MarshalText(); err == nil {
		t.Fatal("unknown phase marshalled")
	}
}
