package apid

import (
	"context"
	"crypto/tls"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/internal/app/apid/authz"
	"github.com/plinth-os/plinth/internal/app/apid/certs/certstest"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/role"
)

// allRPCs lists every RPC apid serves, from the generated descriptors.
func allRPCs() []string {
	var out []string
	for _, sd := range []*grpc.ServiceDesc{&machine.MachineService_ServiceDesc, &resource.ResourceService_ServiceDesc} {
		for _, m := range sd.Methods {
			out = append(out, "/"+sd.ServiceName+"/"+m.MethodName)
		}
		for _, s := range sd.Streams {
			out = append(out, "/"+sd.ServiceName+"/"+s.StreamName)
		}
	}
	return out
}

// identity is a client of the matrix.
type identity struct {
	name string
	cfg  *tls.Config
	// roles is nil for identities whose TLS handshake must fail.
	roles []role.Role
}

func identities(t *testing.T, ca *certstest.CA) []identity {
	foreign := certstest.NewCA(t)
	withRole := func(r role.Role) identity {
		return identity{name: string(r), cfg: certstest.ClientConfig(ca, ca.ClientCert(t, string(r))), roles: []role.Role{r}}
	}
	return []identity{
		{name: "no certificate", cfg: certstest.ClientConfig(ca)},
		{name: "certificate of another CA", cfg: certstest.ClientConfig(ca, foreign.ClientCert(t, string(role.Admin)))},
		withRole(role.Reader),
		withRole(role.Operator),
		withRole(role.EtcdBackup),
		withRole(role.Admin),
	}
}

// TestAuthorizationMatrix calls every RPC as every kind of client through
// a real apid over TLS, and checks the outcome and what machined saw
// against the authorization table.
func TestAuthorizationMatrix(t *testing.T) {
	ca := certstest.NewCA(t)
	n := startNode(t, ca, "node")
	for _, id := range identities(t, ca) {
		t.Run(id.name, func(t *testing.T) {
			conn := dial(t, n.addr, id.cfg)
			for _, method := range allRPCs() {
				ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
				err := callRaw(ctx, conn, method)
				cancel()
				calls := n.machined.received()
				switch {
				case id.roles == nil:
					if err == nil {
						t.Errorf("%s: succeeded without a valid client certificate", method)
					} else if method == machine.MachineService_Version_FullMethodName {
						t.Logf("%s: %v", method, err)
					}
				case authz.Allowed(method, role.MakeSet(id.roles...)):
					if err != nil {
						t.Errorf("%s: %v, want success", method, err)
					}
					if len(calls) != 1 || calls[0].method != method || !sameRoles(calls[0].roles, string(id.roles[0])) {
						t.Errorf("%s: machined saw %+v, want the call with roles %q", method, calls, id.roles)
					}
					continue
				default:
					if codeOf(err) != codes.PermissionDenied {
						t.Errorf("%s: %v, want PermissionDenied", method, err)
					}
				}
				if len(calls) != 0 {
					t.Errorf("%s: denied call reached machined: %+v", method, calls)
				}
			}
		})
	}
}

// TestRolesMetadataFromClientsIgnored checks that a client cannot raise
// its roles with the roles metadata.
func TestRolesMetadataFromClientsIgnored(t *testing.T) {
	ca := certstest.NewCA(t)
	n := startNode(t, ca, "node")
	conn := dial(t, n.addr, certstest.ClientConfig(ca, ca.ClientCert(t, string(role.Reader))))
	ctx := metadata.AppendToOutgoingContext(t.Context(), constants.RolesMetadataKey, string(role.Admin))

	if err := callRaw(ctx, conn, machine.MachineService_Reset_FullMethodName); codeOf(err) != codes.PermissionDenied {
		t.Errorf("Reset as reader claiming admin: %v, want PermissionDenied", err)
	}
	if err := callRaw(ctx, conn, machine.MachineService_Version_FullMethodName); err != nil {
		t.Fatal(err)
	}
	calls := n.machined.received()
	if len(calls) != 1 || !sameRoles(calls[0].roles, string(role.Reader)) {
		t.Errorf("machined saw %+v, want only the reader role", calls)
	}
}

// TestImpersonation checks that a node certificate passes on the roles in
// the metadata, and has none without it.
func TestImpersonation(t *testing.T) {
	ca := certstest.NewCA(t)
	n := startNode(t, ca, "node")
	peer := ca.NodeCert(t)
	cert, err := tls.X509KeyPair(peer.Crt, peer.Key)
	if err != nil {
		t.Fatal(err)
	}
	conn := dial(t, n.addr, certstest.ClientConfig(ca, cert))
	reset := machine.MachineService_Reset_FullMethodName

	if err := callRaw(t.Context(), conn, machine.MachineService_Version_FullMethodName); codeOf(err) != codes.PermissionDenied {
		t.Errorf("impersonator without roles: %v, want PermissionDenied", err)
	}
	asOperator := metadata.AppendToOutgoingContext(t.Context(), constants.RolesMetadataKey, string(role.Operator))
	if err := callRaw(asOperator, conn, reset); codeOf(err) != codes.PermissionDenied {
		t.Errorf("Reset for an operator: %v, want PermissionDenied", err)
	}
	asAdmin := metadata.AppendToOutgoingContext(t.Context(), constants.RolesMetadataKey, string(role.Admin))
	if err := callRaw(asAdmin, conn, reset); err != nil {
		t.Errorf("Reset for an admin: %v", err)
	}
	// A proxied call is served here even if it names other nodes.
	again := metadata.AppendToOutgoingContext(asAdmin, constants.NodesMetadataKey, "192.0.2.1")
	if err := callRaw(again, conn, reset); err != nil {
		t.Errorf("proxied call naming nodes: %v", err)
	}
	calls := n.machined.received()
	if len(calls) != 2 || !slices.ContainsFunc(calls, func(c seenCall) bool { return sameRoles(c.roles, string(role.Admin)) }) {
		t.Errorf("machined saw %+v, want two calls as admin", calls)
	}
}

func TestRunWithoutCertificates(t *testing.T) {
	err := Run(t.Context(), Options{Root: t.TempDir(), ListenAddr: "127.0.0.1:0", Logger: discard})
	if err == nil || !strings.Contains(err.Error(), "API certificates") {
		t.Errorf("Run without certificates: %v", err)
	}
}
