package apiauth

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"slices"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

func TestRolesFromCertificate(t *testing.T) {
	tests := []struct {
		name         string
		org          []string
		want         []string
		impersonator bool
		unknown      []string
	}{
		{name: "none", org: nil, want: []string{}},
		{name: "admin", org: []string{"os:admin"}, want: []string{"os:admin"}},
		{name: "several", org: []string{"os:reader", "os:etcd:backup"}, want: []string{"os:etcd:backup", "os:reader"}},
		{name: "unknown ignored", org: []string{"os:reader", "os:root", "system:masters"}, want: []string{"os:reader"}, unknown: []string{"os:root", "system:masters"}},
		{name: "impersonator", org: []string{constants.RoleImpersonator}, want: []string{}, impersonator: true},
		{name: "case matters", org: []string{"OS:ADMIN"}, want: []string{}, unknown: []string{"OS:ADMIN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RolesFromCertificate(&x509.Certificate{Subject: pkix.Name{Organization: tt.org}})
			if !slices.Equal(got.Roles.Strings(), tt.want) {
				t.Errorf("roles = %q, want %q", got.Roles.Strings(), tt.want)
			}
			if got.Impersonator != tt.impersonator {
				t.Errorf("impersonator = %v, want %v", got.Impersonator, tt.impersonator)
			}
			if !slices.Equal(got.Unknown, tt.unknown) {
				t.Errorf("unknown = %q, want %q", got.Unknown, tt.unknown)
			}
		})
	}
}

func TestRolesMetadataRoundTrip(t *testing.T) {
	md := metadata.Pairs(constants.RolesMetadataKey, "os:admin")
	cr := RolesFromCertificate(&x509.Certificate{Subject: pkix.Name{Organization: []string{"os:reader", "os:operator"}}})
	SetRoles(md, cr.Roles)
	if got := md.Get(constants.RolesMetadataKey); !slices.Equal(got, []string{"os:operator", "os:reader"}) {
		t.Fatalf("metadata = %q, want the two roles replacing os:admin", got)
	}
	roles, unknown, present := RolesFromMetadata(md)
	if !present || len(unknown) != 0 || !slices.Equal(roles.Strings(), []string{"os:operator", "os:reader"}) {
		t.Errorf("RolesFromMetadata = %q, %q, %v", roles.Strings(), unknown, present)
	}
}

func TestRolesFromMetadata(t *testing.T) {
	tests := []struct {
		name    string
		md      metadata.MD
		want    []string
		unknown []string
		present bool
	}{
		{name: "absent", md: metadata.MD{}, want: []string{}},
		{name: "comma separated", md: metadata.Pairs(constants.RolesMetadataKey, "os:reader, os:operator"), want: []string{"os:operator", "os:reader"}, present: true},
		{name: "unknown", md: metadata.Pairs(constants.RolesMetadataKey, "os:reader", constants.RolesMetadataKey, "os:god"), want: []string{"os:reader"}, unknown: []string{"os:god"}, present: true},
		{name: "empty value", md: metadata.Pairs(constants.RolesMetadataKey, ""), want: []string{}, present: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roles, unknown, present := RolesFromMetadata(tt.md)
			if !slices.Equal(roles.Strings(), tt.want) || !slices.Equal(unknown, tt.unknown) || present != tt.present {
				t.Errorf("got %q, %q, %v; want %q, %q, %v", roles.Strings(), unknown, present, tt.want, tt.unknown, tt.present)
			}
		})
	}
}

func TestSetRolesEmptyKeepsKey(t *testing.T) {
	md := metadata.MD{}
	roles, _, _ := RolesFromMetadata(md)
	SetRoles(md, roles)
	if _, _, present := RolesFromMetadata(md); !present {
		t.Fatal("an empty role set must still mark the call as remote")
	}
}
