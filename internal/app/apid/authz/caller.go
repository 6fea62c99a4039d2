package authz

import (
	"context"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/pkg/machinery/apiauth"
	"github.com/plinth-os/plinth/pkg/machinery/role"
)

// Caller is an authenticated caller of the API.
type Caller struct {
	// Subject is the CommonName of the client certificate.
	Subject string
	// Roles are the roles the call is made with.
	Roles role.Set
	// Impersonator is true when the certificate is a node's (it carries
	// constants.RoleImpersonator): the call was proxied by that node's apid
	// and Roles are those of the original caller, taken from the
	// constants.RolesMetadataKey metadata.
	Impersonator bool
}

// Authenticate identifies the caller of the gRPC call in ctx from the
// verified chain of its TLS client certificate. Roles come from the
// certificate's Organization; unknown entries are logged and ignored. A
// node certificate (impersonator) passes the original caller's roles in the
// roles metadata, which is trusted from such peers only.
//
// The error is a codes.Unauthenticated status when the call carries no
// verified client certificate.
func Authenticate(ctx context.Context, log *slog.Logger) (Caller, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return Caller{}, status.Error(codes.Unauthenticated, "no peer information")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return Caller{}, status.Error(codes.Unauthenticated, "connection is not TLS")
	}
	chains := info.State.VerifiedChains
	if len(chains) == 0 || len(chains[0]) == 0 {
		return Caller{}, status.Error(codes.Unauthenticated, "no verified client certificate")
	}
	leaf := chains[0][0]
	cr := apiauth.RolesFromCertificate(leaf)
	c := Caller{Subject: leaf.Subject.CommonName, Roles: cr.Roles, Impersonator: cr.Impersonator}
	if len(cr.Unknown) > 0 {
		log.Warn("ignoring unknown certificate organizations", "subject", c.Subject, "unknown", cr.Unknown)
	}
	if !c.Impersonator {
		return c, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	roles, unknown, _ := apiauth.RolesFromMetadata(md)
	if len(unknown) > 0 {
		log.Warn("ignoring unknown impersonated roles", "subject", c.Subject, "unknown", unknown)
	}
	c.Roles = roles
	return c, nil
}
