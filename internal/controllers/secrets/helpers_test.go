package secrets_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/security"
	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/controllers/secrets"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
	ressecrets "github.com/plinth-os/plinth/pkg/machinery/resources/secrets"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// setNetwork writes the Hostname and NodeAddresses inputs, as the network
// controllers would.
func setNetwork(t *testing.T, st runtime.State, hostname string, addrs ...string) {
	t.Helper()

	ctx := context.Background()

	err := runtime.ModifyTyped(ctx, st, resnet.NewHostname(), func(h *resnet.Hostname) error {
		*h.TypedSpec() = resnet.HostnameSpec{Hostname: hostname, FQDN: hostname}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	err = runtime.ModifyTyped(ctx, st, resnet.NewNodeAddresses(), func(a *resnet.NodeAddresses) error {
		a.TypedSpec().Addresses = slices.Clone(addrs)

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func apiCerts(t *testing.T, h *ctest.Harness) *ressecrets.APICertificates {
	t.Helper()

	return ctest.Get[ressecrets.APICertificatesSpec](t, h.State, ressecrets.NamespaceName,
		ressecrets.APICertificatesType, ressecrets.APICertificatesID)
}

func readFile(t *testing.T, root, path string) []byte {
	t.Helper()

	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}

	return b
}

func perm(t *testing.T, root, path string) os.FileMode {
	t.Helper()

	fi, err := os.Stat(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}

	return fi.Mode().Perm()
}

// servedCert parses the certificate file and checks it against the key file.
func servedCert(t *testing.T, root string) *x509.Certificate {
	t.Helper()

	crt, key := readFile(t, root, secrets.APICertPath), readFile(t, root, secrets.APIKeyPath)
	if err := pki.KeyMatchesCert(crt, key); err != nil {
		t.Fatal(err)
	}

	c, err := pki.ParseCertPEM(crt)
	if err != nil {
		t.Fatal(err)
	}

	return c
}

// verify checks that cert chains to the CA for server and client use.
func verify(t *testing.T, cert *x509.Certificate, caPEM []byte) {
	t.Helper()

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)

	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Fatalf("certificate does not verify for %v: %v", usage, err)
		}
	}
}

func ipStrings(cert *x509.Certificate) []string {
	var out []string
	for _, ip := range cert.IPAddresses {
		a, _ := netip.AddrFromSlice(ip)
		out = append(out, a.Unmap().String())
	}

	slices.Sort(out)

	return out
}

// fakeTrustd is an in-test SecurityService on loopback TLS.
type fakeTrustd struct {
	security.UnimplementedSecurityServiceServer

	ca   *pki.CA
	addr string

	mu       sync.Mutex
	down     bool
	attempts int
	tokens   []string
	csrs     [][]byte
	issued   [][]byte
}

func startTrustd(t *testing.T, caCK *pki.CertAndKey) *fakeTrustd {
	t.Helper()

	ca, err := pki.ParseCA(caCK)
	if err != nil {
		t.Fatal(err)
	}

	serving, err := ca.Issue(pki.CertOptions{
		Subject: pki.Subject{CommonName: "trustd", IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}},
		Usage:   pki.UsagePeer, Validity: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}

	pair, err := tls.X509KeyPair(serving.Crt, serving.Key)
	if err != nil {
		t.Fatal(err)
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	f := &fakeTrustd{ca: ca, addr: lis.Addr().String()}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{pair}})))
	security.RegisterSecurityServiceServer(srv, f)

	go srv.Serve(lis) //nolint:errcheck // ends with Stop

	t.Cleanup(srv.Stop)

	return f
}

// Certificate signs the request when the token is right and trustd is up.
func (f *fakeTrustd) Certificate(ctx context.Context, req *security.CertificateRequest) (*security.CertificateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.attempts++
	if f.down {
		return nil, status.Error(codes.Unavailable, "trustd is starting")
	}

	md, _ := metadata.FromIncomingContext(ctx)
	f.tokens = append(f.tokens, md.Get(constants.TokenMetadataKey)...)

	if tokens := md.Get(constants.TokenMetadataKey); len(tokens) != 1 || tokens[0] != ctest.Token {
		return nil, status.Error(codes.PermissionDenied, "bad token")
	}

	crt, err := f.ca.SignCSR(req.GetCsr(), pki.SignOptions{Usage: pki.UsagePeer, Validity: constants.APICertValidity})
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}

	f.csrs = append(f.csrs, req.GetCsr())
	f.issued = append(f.issued, crt)

	return &security.CertificateResponse{Ca: pki.EncodeCertPEM(f.ca.Cert.Raw), Crt: crt}, nil
}

func (f *fakeTrustd) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.down = down
}

func (f *fakeTrustd) snapshot() (attempts int, tokens []string, csrs, issued [][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()

	return f.attempts, slices.Clone(f.tokens), slices.Clone(f.csrs), slices.Clone(f.issued)
}

// dialer dials the fake trustd with the real TLS dialer, recording the
// endpoint the controller asked for.
func (f *fakeTrustd) dialer(endpoints *[]string, mu *sync.Mutex) secrets.Dialer {
	return func(ctx context.Context, endpoint string, ca []byte) (grpc.ClientConnInterface, io.Closer, error) {
		mu.Lock()
		*endpoints = append(*endpoints, endpoint)
		mu.Unlock()

		return secrets.DialTrustd(ctx, f.addr, ca)
	}
}
