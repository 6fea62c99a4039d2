// Package apiauth reads and writes the roles of a Plinth API caller: from
// the Organization of its client certificate, and from the
// constants.RolesMetadataKey metadata that apid sets on the calls it
// forwards (to machined, or to another node's apid).
//
// On the wire the roles metadata holds one value per role; readers also
// accept comma-separated values, so "os:reader,os:operator" works too.
package apiauth

import (
	"crypto/x509"
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/role"
)

// CertRoles are the roles found in a client certificate.
type CertRoles struct {
	// Roles are the known roles of the certificate's Organization.
	Roles role.Set
	// Impersonator is true when the Organization names
	// constants.RoleImpersonator: the holder is a node's apid, trusted to
	// pass on the roles of the caller it proxies for.
	Impersonator bool
	// Unknown lists Organization entries that are neither a role nor the
	// impersonator marker; callers log them.
	Unknown []string
}

// RolesFromCertificate returns the roles in cert's Organization. Unknown
// entries are ignored (and reported in Unknown), so that a certificate made
// for a newer version with an extra role still works with the roles it
// shares with this one.
func RolesFromCertificate(cert *x509.Certificate) CertRoles {
	var out CertRoles
	var known []role.Role
	for _, org := range cert.Subject.Organization {
		name := strings.TrimSpace(org)
		switch {
		case name == constants.RoleImpersonator:
			out.Impersonator = true
		case isRole(name):
			known = append(known, role.Role(name))
		default:
			out.Unknown = append(out.Unknown, org)
		}
	}
	out.Roles = role.MakeSet(known...)
	return out
}

// RolesFromMetadata returns the roles carried in md under
// constants.RolesMetadataKey. present is false when the key is absent,
// which machined reads as a local caller. Unknown names are left out of the
// set and returned in unknown.
func RolesFromMetadata(md metadata.MD) (roles role.Set, unknown []string, present bool) {
	values := md.Get(constants.RolesMetadataKey)
	if len(values) == 0 {
		return role.Set{}, nil, false
	}
	var known []role.Role
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			switch {
			case name == "":
			case isRole(name):
				known = append(known, role.Role(name))
			default:
				unknown = append(unknown, name)
			}
		}
	}
	return role.MakeSet(known...), unknown, true
}

// SetRoles replaces the roles metadata of md with roles, one value per
// role. An empty set still sets the key (to an empty value), so that the
// receiver never mistakes a caller without roles for a local one.
func SetRoles(md metadata.MD, roles role.Set) {
	names := roles.Strings()
	if len(names) == 0 {
		names = []string{""}
	}
	md.Set(constants.RolesMetadataKey, names...)
}

// isRole reports whether name is a known role.
func isRole(name string) bool {
	_, err := role.Parse([]string{name})
	return err == nil
}
