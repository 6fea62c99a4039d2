package authz

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"net"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// tlsPeer returns a context of a call from a TLS peer whose verified
// certificate has org, with incoming metadata md.
func tlsPeer(org []string, md metadata.MD) context.Context {
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "someone", Organization: org}}
	info := credentials.TLSInfo{State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}}
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{}, AuthInfo: info})
	return metadata.NewIncomingContext(ctx, md)
}

func TestAuthenticate(t *testing.T) {
	rolesMD := func(v ...string) metadata.MD {
		md := metadata.MD{}
		md.Set(constants.RolesMetadataKey, v...)
		return md
	}
	tests := []struct {
		name         string
		ctx          context.Context
		want         []string
		impersonator bool
		code         codes.Code
	}{
		{name: "no peer", ctx: context.Background(), code: codes.Unauthenticated},
		{name: "not TLS", ctx: peer.NewContext(context.Background(), &peer.Peer{AuthInfo: insecureInfo{}}), code: codes.Unauthenticated},
		{name: "no verified chain", ctx: peer.NewContext(context.Background(), &peer.Peer{AuthInfo: credentials.TLSInfo{}}), code: codes.Unauthenticated},
		{name: "reader", ctx: tlsPeer([]string{"os:reader"}, nil), want: []string{"os:reader"}},
		{name: "unknown organization ignored", ctx: tlsPeer([]string{"os:reader", "os:root"}, nil), want: []string{"os:reader"}},
		{name: "roles metadata of a client is ignored", ctx: tlsPeer([]string{"os:reader"}, rolesMD("os:admin")), want: []string{"os:reader"}},
		{name: "impersonator passes roles", ctx: tlsPeer([]string{constants.RoleImpersonator}, rolesMD("os:operator", "os:bogus")), want: []string{"os:operator"}, impersonator: true},
		{name: "impersonator without metadata has no roles", ctx: tlsPeer([]string{constants.RoleImpersonator}, nil), want: []string{}, impersonator: true},
		{name: "impersonator's own roles do not add up", ctx: tlsPeer([]string{constants.RoleImpersonator, "os:admin"}, rolesMD("os:reader")), want: []string{"os:reader"}, impersonator: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Authenticate(tt.ctx, discard)
			if status.Code(err) != tt.code {
				t.Fatalf("Authenticate error = %v, want code %s", err, tt.code)
			}
			if err != nil {
				return
			}
			if !slices.Equal(c.Roles.Strings(), tt.want) || c.Impersonator != tt.impersonator {
				t.Errorf("caller = %q impersonator=%v, want %q impersonator=%v", c.Roles.Strings(), c.Impersonator, tt.want, tt.impersonator)
			}
			if c.Subject != "someone" {
				t.Errorf("subject = %q", c.Subject)
			}
		})
	}
}

// insecureInfo is the AuthInfo of a connection without TLS.
type insecureInfo struct{}

func (insecureInfo) AuthType() string { return "insecure" }
