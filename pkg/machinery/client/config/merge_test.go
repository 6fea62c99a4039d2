package config

import (
	"reflect"
	"testing"
)

func TestMerge(t *testing.T) {
	ctx := func(endpoint string) *Context { return &Context{Endpoints: []string{endpoint}} }
	tests := []struct {
		name        string
		base, other *Config
		want        *Config
		wantRenames []Rename
	}{
		{
			name:  "into empty",
			base:  New(),
			other: &Config{Context: "demo", Contexts: map[string]*Context{"demo": ctx("1")}},
			want:  &Config{Context: "demo", Contexts: map[string]*Context{"demo": ctx("1")}},
		},
		{
			name:  "into nil map",
			base:  &Config{},
			other: &Config{Contexts: map[string]*Context{"demo": ctx("1")}},
			want:  &Config{Contexts: map[string]*Context{"demo": ctx("1")}},
		},
		{
			name:  "distinct names keep current of other",
			base:  &Config{Context: "a", Contexts: map[string]*Context{"a": ctx("1")}},
			other: &Config{Context: "b", Contexts: map[string]*Context{"b": ctx("2")}},
			want:  &Config{Context: "b", Contexts: map[string]*Context{"a": ctx("1"), "b": ctx("2")}},
		},
		{
			name:  "other without current keeps ours",
			base:  &Config{Context: "a", Contexts: map[string]*Context{"a": ctx("1")}},
			other: &Config{Contexts: map[string]*Context{"b": ctx("2")}},
			want:  &Config{Context: "a", Contexts: map[string]*Context{"a": ctx("1"), "b": ctx("2")}},
		},
		{
			name:  "clash renamed and made current",
			base:  &Config{Context: "demo", Contexts: map[string]*Context{"demo": ctx("1")}},
			other: &Config{Context: "demo", Contexts: map[string]*Context{"demo": ctx("2")}},
			want: &Config{Context: "demo-1", Contexts: map[string]*Context{
				"demo": ctx("1"), "demo-1": ctx("2"),
			}},
			wantRenames: []Rename{{From: "demo", To: "demo-1"}},
		},
		{
			name: "skips names taken in either config",
			base: &Config{Context: "demo", Contexts: map[string]*Context{
				"demo": ctx("1"), "demo-1": ctx("2"),
			}},
			other: &Config{Context: "demo-2", Contexts: map[string]*Context{
				"demo": ctx("3"), "demo-2": ctx("4"),
			}},
			want: &Config{Context: "demo-2", Contexts: map[string]*Context{
				"demo": ctx("1"), "demo-1": ctx("2"), "demo-3": ctx("3"), "demo-2": ctx("4"),
			}},
			wantRenames: []Rename{{From: "demo", To: "demo-3"}},
		},
		{
			name:  "identical context is not duplicated",
			base:  &Config{Context: "a", Contexts: map[string]*Context{"a": ctx("1"), "demo": ctx("2")}},
			other: &Config{Context: "demo", Contexts: map[string]*Context{"demo": ctx("2")}},
			want:  &Config{Context: "demo", Contexts: map[string]*Context{"a": ctx("1"), "demo": ctx("2")}},
		},
		{
			name:  "nil context in other",
			base:  New(),
			other: &Config{Contexts: map[string]*Context{"x": nil}},
			want:  &Config{Contexts: map[string]*Context{"x": {}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			renames := tt.base.Merge(tt.other)
			if !reflect.DeepEqual(renames, tt.wantRenames) {
				t.Errorf("Merge() renames = %v, want %v", renames, tt.wantRenames)
			}
			if !reflect.DeepEqual(tt.base, tt.want) {
				t.Errorf("Merge() result = %#v, want %#v", tt.base, tt.want)
			}
		})
	}
}

func TestMergeCopiesContexts(t *testing.T) {
	other := &Config{Contexts: map[string]*Context{"a": {Endpoints: []string{"1"}}}}
	base := New()
	base.Merge(other)
	other.Contexts["a"].Endpoints[0] = "changed"
	if got := base.Contexts["a"].Endpoints[0]; got != "1" {
		t.Errorf("merged context shares memory with the source: %q", got)
	}
}

func TestMergeTwiceIsIdempotent(t *testing.T) {
	other := &Config{Context: "demo", Contexts: map[string]*Context{"demo": {Nodes: []string{"n"}}}}
	base := &Config{Context: "x", Contexts: map[string]*Context{"x": {}}}
	base.Merge(other)
	if renames := base.Merge(other); renames != nil {
		t.Errorf("second Merge() renamed %v", renames)
	}
	if len(base.Contexts) != 2 || base.Context != "demo" {
		t.Errorf("after merging twice: %#v", base)
	}
}
