package role

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr string
	}{
		{name: "empty", in: nil, want: []string{}},
		{name: "one", in: []string{"os:admin"}, want: []string{"os:admin"}},
		{name: "sorted and deduplicated", in: []string{"os:reader", "os:etcd:backup", "os:reader"}, want: []string{"os:etcd:backup", "os:reader"}},
		{name: "spaces trimmed", in: []string{" os:operator "}, want: []string{"os:operator"}},
		{name: "unknown", in: []string{"os:admin", "os:root"}, wantErr: `unknown role "os:root"`},
		{name: "empty name", in: []string{""}, wantErr: `unknown role ""`},
		{name: "case matters", in: []string{"OS:ADMIN"}, wantErr: `unknown role "OS:ADMIN"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !slices.Equal(got.Strings(), tt.want) {
				t.Errorf("Parse(%q).Strings() = %q, want %q", tt.in, got.Strings(), tt.want)
			}
		})
	}
}

func TestSetIncludes(t *testing.T) {
	s := MakeSet(Operator, EtcdBackup)
	tests := []struct {
		roles []Role
		want  bool
	}{
		{[]Role{Operator}, true},
		{[]Role{EtcdBackup}, true},
		{[]Role{Admin}, false},
		{[]Role{Admin, Reader}, false},
		{[]Role{Admin, EtcdBackup}, true},
		{nil, false},
	}
	for _, tt := range tests {
		if got := s.IncludesAny(tt.roles...); got != tt.want {
			t.Errorf("IncludesAny(%v) = %v, want %v", tt.roles, got, tt.want)
		}
		if len(tt.roles) == 1 {
			if got := s.Includes(tt.roles[0]); got != tt.want {
				t.Errorf("Includes(%v) = %v, want %v", tt.roles[0], got, tt.want)
			}
		}
	}
	if s.Len() != 2 {
		t.Errorf("Len() = %d, want 2", s.Len())
	}
}

func TestZeroSet(t *testing.T) {
	var s Set
	if s.Includes(Admin) || s.Len() != 0 || len(s.Strings()) != 0 {
		t.Errorf("zero Set is not empty: %v", s.Strings())
	}
}
