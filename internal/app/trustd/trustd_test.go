package trustd

import (
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/security"
	"github.com/plinth-os/plinth/internal/app/apid/certs/certstest"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "abcdef.0123456789abcdef"

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// start runs trustd on loopback with opts completed by the test's
// certificates, and returns a client that trusts the node's CA.
func start(t *testing.T, ca *certstest.CA, opts Options) security.SecurityServiceClient {
	t.Helper()
	opts.Root = t.TempDir()
	opts.CertDir = filepath.Join(opts.Root, "api")
	ca.WriteNodeDir(t, opts.CertDir)
	opts.Logger = discard
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.Listener = lis
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	// No client certificate: a joining node has none.
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(),
		grpc.WithTransportCredentials(credentials.NewTLS(certstest.ClientConfig(ca))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return security.NewSecurityServiceClient(conn)
}

// newCSR returns a CSR for a new key and subject.
func newCSR(t *testing.T, s pki.Subject) []byte {
	t.Helper()
	key, err := pki.GenerateKey(pki.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.NewCSR(key, s)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func withToken(t *testing.T, tok string) context.Context {
	return metadata.AppendToOutgoingContext(t.Context(), constants.TokenMetadataKey, tok)
}

func TestCertificateIssued(t *testing.T) {
	ca := certstest.NewCA(t)
	client := start(t, ca, Options{CA: func() (*pki.CertAndKey, error) { return ca.PEM, nil }, Token: token})
	tests := []struct {
		name string
		org  []string
	}{
		{name: "node", org: []string{constants.RoleImpersonator}},
		{name: "asks for admin", org: []string{"os:admin", "system:masters"}},
		{name: "asks for nothing", org: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := pki.Subject{
				CommonName:   "worker-1",
				Organization: tt.org,
				IPs:          []netip.Addr{netip.MustParseAddr("10.5.0.3"), netip.MustParseAddr("fd00::3")},
				DNSNames:     []string{"worker-1.local"},
			}
			resp, err := client.Certificate(withToken(t, token), &security.CertificateRequest{Csr: newCSR(t, req)})
			if err != nil {
				t.Fatal(err)
			}
			checkIssued(t, resp, ca, req)
		})
	}
}

// checkIssued checks that resp holds ca and a node certificate for req.
func checkIssued(t *testing.T, resp *security.CertificateResponse, ca *certstest.CA, req pki.Subject) {
	t.Helper()
	if string(resp.Ca) != string(ca.PEM.Crt) {
		t.Error("response does not carry the CA certificate")
	}
	cert, err := pki.ParseCertPEM(resp.Crt)
	if err != nil {
		t.Fatal(err)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("certificate does not verify for usage %v: %v", usage, err)
		}
	}
	if !slices.Equal(cert.Subject.Organization, []string{constants.RoleImpersonator}) {
		t.Errorf("organization = %q, want only %s", cert.Subject.Organization, constants.RoleImpersonator)
	}
	if cert.Subject.CommonName != req.CommonName || !slices.Equal(cert.DNSNames, req.DNSNames) {
		t.Errorf("subject %q / DNS %q, want %q / %q", cert.Subject.CommonName, cert.DNSNames, req.CommonName, req.DNSNames)
	}
	if len(cert.IPAddresses) != len(req.IPs) {
		t.Errorf("IP SANs = %v, want %v", cert.IPAddresses, req.IPs)
	}
	for i, ip := range cert.IPAddresses {
		if addr, _ := netip.AddrFromSlice(ip); i >= len(req.IPs) || addr.Unmap() != req.IPs[i] {
			t.Errorf("IP SANs = %v, want %v", cert.IPAddresses, req.IPs)
			break
		}
	}
	if cert.IsCA {
		t.Error("issued certificate is a CA")
	}
}

func TestCertificateRefused(t *testing.T) {
	ca := certstest.NewCA(t)
	client := start(t, ca, Options{CA: func() (*pki.CertAndKey, error) { return ca.PEM, nil }, Token: token})
	good := newCSR(t, pki.Subject{CommonName: "n"})
	tests := []struct {
		name string
		ctx  context.Context
		csr  []byte
		code codes.Code
		msg  string
	}{
		{name: "no token", ctx: t.Context(), csr: good, code: codes.PermissionDenied, msg: "machine token"},
		{name: "wrong token", ctx: withToken(t, "abcdef.0000000000000000"), csr: good, code: codes.PermissionDenied, msg: "invalid machine token"},
		{name: "token prefix", ctx: withToken(t, token[:10]), csr: good, code: codes.PermissionDenied, msg: "invalid machine token"},
		{name: "two tokens", ctx: metadata.AppendToOutgoingContext(withToken(t, token), constants.TokenMetadataKey, "x"), csr: good, code: codes.PermissionDenied},
		{name: "garbage CSR", ctx: withToken(t, token), csr: []byte("not a csr"), code: codes.InvalidArgument, msg: "csr: parse certificate request: no PEM data found"},
		{name: "certificate instead of CSR", ctx: withToken(t, token), csr: ca.PEM.Crt, code: codes.InvalidArgument, msg: `PEM block is "CERTIFICATE"`},
		{name: "empty CSR", ctx: withToken(t, token), code: codes.InvalidArgument, msg: "csr:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Certificate(tt.ctx, &security.CertificateRequest{Csr: tt.csr})
			if status.Code(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %v, want code %s containing %q", err, tt.code, tt.msg)
			}
		})
	}
}

func TestCertificateFromFiles(t *testing.T) {
	ca := certstest.NewCA(t)
	dir := t.TempDir()
	opts := Options{
		CAFile:    filepath.Join(dir, CAFileName),
		CAKeyFile: filepath.Join(dir, CAKeyFileName),
		TokenFile: filepath.Join(dir, TokenFileName),
	}
	client := start(t, ca, opts)
	csr := newCSR(t, pki.Subject{CommonName: "n", IPs: []netip.Addr{netip.MustParseAddr("10.0.0.9")}})

	// Before machined writes the token and the CA, requests are refused.
	if _, err := client.Certificate(withToken(t, token), &security.CertificateRequest{Csr: csr}); status.Code(err) != codes.Unavailable {
		t.Errorf("without token file: %v, want Unavailable", err)
	}
	write(t, opts.TokenFile, []byte(token+"\n"))
	if _, err := client.Certificate(withToken(t, token), &security.CertificateRequest{Csr: csr}); status.Code(err) != codes.Unavailable {
		t.Errorf("without CA files: %v, want Unavailable", err)
	}
	write(t, opts.CAFile, ca.PEM.Crt)
	write(t, opts.CAKeyFile, ca.PEM.Key)
	resp, err := client.Certificate(withToken(t, token), &security.CertificateRequest{Csr: csr})
	if err != nil {
		t.Fatal(err)
	}
	checkIssued(t, resp, ca, pki.Subject{CommonName: "n", IPs: []netip.Addr{netip.MustParseAddr("10.0.0.9")}})
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRunWithoutCertificates(t *testing.T) {
	err := Run(t.Context(), Options{Root: t.TempDir(), ListenAddr: "127.0.0.1:0", Logger: discard})
	if err == nil || !strings.Contains(err.Error(), "API certificates") {
		t.Errorf("Run without certificates: %v", err)
	}
}
