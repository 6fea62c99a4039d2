// Package certstest makes the certificates of apid and trustd tests: an OS
// CA, node certificate directories in the layout certs.Store reads, and
// client certificates with roles.
package certstest

import (
	"crypto/tls"
	"crypto/x509"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/app/apid/certs"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// validity of test certificates.
const validity = time.Hour

// CA is a test OS CA.
type CA struct {
	*pki.CA
	// PEM is the CA certificate and key.
	PEM *pki.CertAndKey
}

// NewCA returns a new Ed25519 CA, like a cluster's OS CA.
func NewCA(t testing.TB) *CA {
	t.Helper()
	ck, err := pki.NewCA(pki.CAOptions{CommonName: "test-os", KeyType: pki.KeyEd25519, Validity: validity})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.ParseCA(ck)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{CA: ca, PEM: ck}
}

// Pool returns a pool holding the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// NodeCert issues a peer certificate with the impersonator organization for
// the loopback addresses, like machined issues for apid.
func (ca *CA) NodeCert(t testing.TB) *pki.CertAndKey {
	t.Helper()
	return ca.issue(t, pki.UsagePeer, constants.RoleImpersonator)
}

// WriteNodeDir writes ca.crt, server.crt and server.key (a NodeCert) into
// dir, creating it.
func (ca *CA) WriteNodeDir(t testing.TB, dir string) {
	t.Helper()
	node := ca.NodeCert(t)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{certs.CAFile: ca.PEM.Crt, certs.CertFile: node.Crt, certs.KeyFile: node.Key} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// ClientCert issues a client certificate whose Organization is orgs.
func (ca *CA) ClientCert(t testing.TB, orgs ...string) tls.Certificate {
	t.Helper()
	ck := ca.issue(t, pki.UsageClient, orgs...)
	cert, err := tls.X509KeyPair(ck.Crt, ck.Key)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// issue issues a certificate for the loopback addresses.
func (ca *CA) issue(t testing.TB, usage pki.Usage, orgs ...string) *pki.CertAndKey {
	t.Helper()
	ck, err := ca.Issue(pki.CertOptions{
		Subject: pki.Subject{
			CommonName:   "test",
			Organization: orgs,
			IPs:          []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()},
			DNSNames:     []string{"localhost"},
		},
		Usage:    usage,
		KeyType:  pki.KeyEd25519,
		Validity: validity,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// ClientConfig returns a TLS client configuration that trusts ca and
// presents certs.
func ClientConfig(ca *CA, certs ...tls.Certificate) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: ca.Pool(), Certificates: certs}
}
