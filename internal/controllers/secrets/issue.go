package secrets

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/plinth-os/plinth/api/security"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// Dialer connects to trustd; see DialTrustd.
type Dialer func(ctx context.Context, endpoint string, ca []byte) (grpc.ClientConnInterface, io.Closer, error)

// issueLocal signs a certificate for key with the OS CA of a control plane.
func issueLocal(m *v1alpha1.Machine, key crypto.Signer, p plan, now func() time.Time) ([]byte, error) {
	if m.CA == nil || len(m.CA.Key) == 0 {
		return nil, errors.New("machine.ca.key is missing on a control plane")
	}

	ca, err := pki.ParseCA(m.CA)
	if err != nil {
		return nil, fmt.Errorf("OS CA: %w", err)
	}

	return ca.IssueForKey(key.Public(), pki.CertOptions{
		Subject:  p.subject(),
		Usage:    pki.UsagePeer,
		Validity: constants.APICertValidity,
		Now:      now,
	})
}

// requestRemote asks trustd to sign a certificate request for key,
// authenticating with the machine token.
func requestRemote(ctx context.Context, dial Dialer, cfg *v1alpha1.MachineConfig, key crypto.Signer, p plan) ([]byte, error) {
	endpoint, err := TrustdEndpoint(cfg.Cluster)
	if err != nil {
		return nil, err
	}

	if cfg.Machine.Token == "" {
		return nil, errors.New("machine.token is not set")
	}

	csr, err := pki.NewCSR(key, p.subject())
	if err != nil {
		return nil, err
	}

	conn, closer, err := dial(ctx, endpoint, []byte(p.ca))
	if err != nil {
		return nil, err
	}

	defer closer.Close() //nolint:errcheck // nothing to do about it

	ctx = metadata.AppendToOutgoingContext(ctx, constants.TokenMetadataKey, cfg.Machine.Token)

	resp, err := security.NewSecurityServiceClient(conn).Certificate(ctx, &security.CertificateRequest{Csr: csr})
	if err != nil {
		return nil, fmt.Errorf("trustd %s: %w", endpoint, err)
	}

	return resp.GetCrt(), nil
}

// checkIssued verifies that crtPEM certifies key, chains to the PEM CA and
// may serve TLS. Time is not checked: renewal takes care of expiry.
func checkIssued(crtPEM []byte, key crypto.Signer, caPEM string) (*x509.Certificate, error) {
	crt, err := pki.ParseCertPEM(crtPEM)
	if err != nil {
		return nil, fmt.Errorf("issued certificate: %w", err)
	}

	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(crt.PublicKey) {
		return nil, errors.New("issued certificate is not for the node's key")
	}

	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(caPEM)) {
		return nil, errors.New("machine.ca.crt holds no certificate")
	}

	_, err = crt.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: crt.NotBefore,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return nil, fmt.Errorf("issued certificate does not verify against the OS CA: %w", err)
	}

	return crt, nil
}
