package resource_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

var (
	memberDef = resource.Definition{
		Type:             "Members.cluster.plinth.dev",
		DefaultNamespace: "cluster",
		Aliases:          []string{"mem"},
		PrintColumns: []resource.Column{
			{Name: "Hostname", JSONPath: "{.spec.hostname}"},
			{Name: "Addresses", JSONPath: "{.spec.addresses}"},
			{Name: "First", JSONPath: ".spec.addresses[0]"},
			{Name: "Ports", JSONPath: "{.spec.ports}"},
			{Name: "Owner", JSONPath: "{.metadata.owner}"},
			{Name: "Missing", JSONPath: "{.spec.nope[3].x}"},
		},
	}
	addressDef = resource.Definition{
		Type:             "AddressStatuses.net.plinth.dev",
		DefaultNamespace: "network",
	}
	policyDef = resource.Definition{
		Type:             "Policies.sec.plinth.dev",
		DefaultNamespace: "sec",
	}
)

func newRegistry(t *testing.T) *resource.Registry {
	t.Helper()

	reg := resource.NewRegistry()
	if err := reg.Register(memberDef, addressDef, policyDef); err != nil {
		t.Fatal(err)
	}

	return reg
}

func TestRegistryLookup(t *testing.T) {
	reg := newRegistry(t)

	tests := []struct {
		name string
		want string
	}{
		{"members", memberDef.Type},
		{"member", memberDef.Type},
		{"Members", memberDef.Type},
		{"MEMBER", memberDef.Type},
		{"members.cluster.plinth.dev", memberDef.Type},
		{"mem", memberDef.Type},
		{"mems", memberDef.Type},
		{"addressstatus", addressDef.Type},
		{"addressstatuses", addressDef.Type},
		{"policy", policyDef.Type},
		{"rd", resource.DefinitionType},
		{"rds", resource.DefinitionType},
		{"resourcedefinitions", resource.DefinitionType},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := reg.Lookup(tt.name)
			if err != nil {
				t.Fatal(err)
			}

			if d.Type != tt.want {
				t.Fatalf("Lookup(%q) = %s, want %s", tt.name, d.Type, tt.want)
			}
		})
	}

	if _, err := reg.Lookup("nodes"); !errors.Is(err, resource.ErrUnknownType) {
		t.Fatalf("Lookup(nodes) error = %v, want ErrUnknownType", err)
	}
}

func TestRegistryRefusesConflicts(t *testing.T) {
	tests := []struct {
		name string
		def  resource.Definition
		want string
	}{
		{"same type", memberDef, "already registered"},
		{"alias is another's plural", resource.Definition{Type: "Other.x.dev", DefaultNamespace: "x", Aliases: []string{"member"}}, "already taken"},
		{"short name clash", resource.Definition{Type: "Members.other.dev", DefaultNamespace: "x"}, "already taken"},
		{"no namespace", resource.Definition{Type: "Things.x.dev"}, "default namespace"},
		{"bad path", resource.Definition{Type: "Things.x.dev", DefaultNamespace: "x", PrintColumns: []resource.Column{{Name: "A", JSONPath: "{spec}"}}}, "expected '.'"},
		{"bad index", resource.Definition{Type: "Things.x.dev", DefaultNamespace: "x", PrintColumns: []resource.Column{{Name: "A", JSONPath: ".a[x]"}}}, "invalid index"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(t)
			before := reg.List()

			err := reg.Register(resource.Definition{Type: "Fine.x.dev", DefaultNamespace: "x"}, tt.def)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Register error = %v, want it to mention %q", err, tt.want)
			}

			if len(reg.List()) != len(before) {
				t.Fatal("a refused Register added definitions")
			}
		})
	}
}

func TestRegistryList(t *testing.T) {
	got := newRegistry(t).List()

	types := make([]string, len(got))
	for i, d := range got {
		types[i] = d.Type
	}

	want := []string{addressDef.Type, memberDef.Type, policyDef.Type, resource.DefinitionType}
	if !slices.Equal(types, want) {
		t.Fatalf("List() = %v, want %v", types, want)
	}
}

func TestDefinitionRow(t *testing.T) {
	type memberSpec struct {
		Hostname  string   `json:"hostname"`
		Addresses []string `json:"addresses"`
		Ports     []struct {
			N int `json:"n"`
		} `json:"ports"`
	}

	r := resource.NewTyped("cluster", memberDef.Type, "m1", memberSpec{
		Hostname:  "node-1",
		Addresses: []string{"10.0.0.1", "fd00::1"},
		Ports: []struct {
			N int `json:"n"`
		}{{N: 1}},
	})
	r.Metadata().Owner = "cluster.MemberController"

	row, err := memberDef.Row(r)
	if err != nil {
		t.Fatal(err)
	}

	want := []string{"node-1", "10.0.0.1,fd00::1", "10.0.0.1", `[{"n":1}]`, "cluster.MemberController", ""}
	if !slices.Equal(row, want) {
		t.Fatalf("Row() = %q, want %q", row, want)
	}
}

func TestDefinitionAsResource(t *testing.T) {
	r := memberDef.Resource()
	if r.Metadata().Ref() != (resource.Ref{Namespace: resource.MetaNamespace, Type: resource.DefinitionType, ID: memberDef.Type}) {
		t.Fatalf("unexpected ref %s", r.Metadata().Ref())
	}

	row, err := resource.MetaDefinition.Row(r)
	if err != nil || !slices.Equal(row, []string{"mem"}) {
		t.Fatalf("Row() = %q, %v", row, err)
	}
}
