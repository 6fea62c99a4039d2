// Package role defines the roles of the Plinth API. A client's roles travel
// in the Organization field of its certificate, which the cluster's OS CA
// signs; apid maps every RPC to the roles allowed to call it.
package role

import (
	"fmt"
	"slices"
	"strings"
)

// Role is one role of the Plinth API, such as "os:admin".
type Role string

// The roles of the Plinth API.
const (
	// Admin may call every RPC, including those that change the machine.
	Admin Role = "os:admin"
	// Operator may read everything and run day-two operations (reboot,
	// upgrade, etcd snapshots) but may not read secrets or replace the config.
	Operator Role = "os:operator"
	// Reader may read resources, logs and versions, but no secrets.
	Reader Role = "os:reader"
	// EtcdBackup may only take etcd snapshots.
	EtcdBackup Role = "os:etcd:backup"
)

// All lists every known role, most privileged first.
var All = []Role{Admin, Operator, Reader, EtcdBackup}

// Set is an immutable set of roles. The zero Set is empty and ready to use.
type Set struct {
	roles map[Role]struct{}
}

// MakeSet returns the set of the given roles. It does not check that they
// are known; use Parse for untrusted input.
func MakeSet(roles ...Role) Set {
	s := Set{roles: make(map[Role]struct{}, len(roles))}
	for _, r := range roles {
		s.roles[r] = struct{}{}
	}
	return s
}

// Parse turns role names into a Set. An unknown or empty name is an error
// naming it, so a typo never silently drops a privilege.
func Parse(names []string) (Set, error) {
	roles := make([]Role, 0, len(names))
	for _, name := range names {
		r := Role(strings.TrimSpace(name))
		if !slices.Contains(All, r) {
			return Set{}, fmt.Errorf("unknown role %q (known roles: %s)", name, strings.Join(MakeSet(All...).Strings(), ", "))
		}
		roles = append(roles, r)
	}
	return MakeSet(roles...), nil
}

// Includes reports whether r is in the set.
func (s Set) Includes(r Role) bool {
	_, ok := s.roles[r]
	return ok
}

// IncludesAny reports whether at least one of roles is in the set.
func (s Set) IncludesAny(roles ...Role) bool {
	return slices.ContainsFunc(roles, s.Includes)
}

// Len returns the number of roles in the set.
func (s Set) Len() int { return len(s.roles) }

// Strings returns the role names in the set, sorted, for certificates and
// for display.
func (s Set) Strings() []string {
	out := make([]string, 0, len(s.roles))
	for r := range s.roles {
		out = append(out, string(r))
	}
	slices.Sort(out)
	return out
}
