package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// backdate is how far before "now" certificates become valid, so that a
// node whose clock lags a little behind the issuer's accepts them.
const backdate = 5 * time.Minute

// Usage says what an issued certificate may authenticate.
type Usage int

// The usages of issued certificates.
const (
	// UsageServer is for TLS servers (extended key usage serverAuth).
	UsageServer Usage = iota + 1
	// UsageClient is for TLS clients (clientAuth), e.g. plinthctl users.
	UsageClient
	// UsagePeer is for both sides, e.g. etcd members talking to each other.
	UsagePeer
)

// String names the usage.
func (u Usage) String() string {
	switch u {
	case UsageServer:
		return "server"
	case UsageClient:
		return "client"
	case UsagePeer:
		return "peer"
	default:
		return fmt.Sprintf("Usage(%d)", int(u))
	}
}

// extKeyUsage returns the extended key usages of u.
func (u Usage) extKeyUsage() ([]x509.ExtKeyUsage, error) {
	switch u {
	case UsageServer:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, nil
	case UsageClient:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil
	case UsagePeer:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, nil
	case 0:
		return nil, fmt.Errorf("certificate usage not set")
	default:
		return nil, fmt.Errorf("unknown certificate usage %d", int(u))
	}
}

// Subject names the holder of a certificate, or the requester of one.
type Subject struct {
	// CommonName is the subject's CN: a user, node or component name.
	CommonName string
	// Organization is the subject's O; for clients of the Plinth API these
	// are its roles, for Kubernetes clients its groups. Certificates keep
	// them as a set: parsed back, they may come in another order.
	Organization []string
	// IPs are the IP subject alternative names.
	IPs []netip.Addr
	// DNSNames are the DNS subject alternative names.
	DNSNames []string
}

// ips converts the IP SANs for crypto/x509.
func (s Subject) ips() ([]net.IP, error) {
	out := make([]net.IP, 0, len(s.IPs))
	for _, ip := range s.IPs {
		if !ip.IsValid() {
			return nil, fmt.Errorf("invalid IP address in subject alternative names")
		}
		out = append(out, net.IP(ip.Unmap().AsSlice()))
	}
	return out, nil
}

// CAOptions configure NewCA.
type CAOptions struct {
	// CommonName and Organization name the CA.
	CommonName   string
	Organization []string
	// KeyType is the CA key's algorithm (default ECDSA P-256).
	KeyType KeyType
	// Validity is how long the CA is valid from now; it must be positive.
	Validity time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// CertOptions configure a certificate issued by a CA or self-signed.
type CertOptions struct {
	Subject
	// Usage says what the certificate authenticates; it must be set.
	Usage Usage
	// KeyType is the algorithm of the generated key (default ECDSA P-256).
	KeyType KeyType
	// Validity is how long the certificate is valid from now; it must be
	// positive. Certificates from a CA never outlive the CA.
	Validity time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// SignOptions configure CA.SignCSR; the subject comes from the request.
type SignOptions struct {
	// Usage says what the certificate authenticates; it must be set.
	Usage Usage
	// Validity is how long the certificate is valid from now.
	Validity time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// period is when a certificate is valid, and the time it was made.
type period struct {
	now, notBefore, notAfter time.Time
}

// newPeriod returns the validity period starting at the clock's now, to the
// second as certificates record it.
func newPeriod(validity time.Duration, clock func() time.Time) (period, error) {
	if validity <= 0 {
		return period{}, fmt.Errorf("validity must be positive, got %s", validity)
	}
	if clock == nil {
		clock = time.Now
	}
	now := clock().UTC().Truncate(time.Second)
	return period{now: now, notBefore: now.Add(-backdate), notAfter: now.Add(validity)}, nil
}

// NewCA generates a key and a self-signed CA certificate.
func NewCA(opts CAOptions) (*CertAndKey, error) {
	p, err := newPeriod(opts.Validity, opts.Now)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	key, err := GenerateKey(opts.KeyType)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: opts.CommonName, Organization: opts.Organization},
		NotBefore:             p.notBefore,
		NotAfter:              p.notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	return selfSign(tmpl, key)
}

// NewSelfSigned generates a key and a self-signed leaf certificate, such as
// the one a node in maintenance mode serves before it has a config.
func NewSelfSigned(opts CertOptions) (*CertAndKey, error) {
	p, err := newPeriod(opts.Validity, opts.Now)
	if err != nil {
		return nil, fmt.Errorf("new self-signed certificate: %w", err)
	}
	key, err := GenerateKey(opts.KeyType)
	if err != nil {
		return nil, fmt.Errorf("new self-signed certificate: %w", err)
	}
	tmpl, err := leafTemplate(opts.Subject, opts.Usage, key.Public(), p)
	if err != nil {
		return nil, fmt.Errorf("new self-signed certificate: %w", err)
	}
	return selfSign(tmpl, key)
}

// CA is a certificate authority ready to issue certificates.
type CA struct {
	// Cert is the CA certificate.
	Cert *x509.Certificate
	// Key is the CA's private key.
	Key crypto.Signer
}

// ParseCA parses a PEM CA certificate and key, checking that the
// certificate is a CA and that the key is its own.
func ParseCA(ck *CertAndKey) (*CA, error) {
	cert, err := ParseCertPEM(ck.Crt)
	if err != nil {
		return nil, fmt.Errorf("parse CA: %w", err)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("parse CA: certificate %q is not a CA", describe(cert))
	}
	key, err := ParseKeyPEM(ck.Key)
	if err != nil {
		return nil, fmt.Errorf("parse CA: %w", err)
	}
	if !equalKeys(key.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("parse CA: private key does not match the public key of certificate %q", describe(cert))
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Issue generates a key and a certificate for it signed by the CA.
func (ca *CA) Issue(opts CertOptions) (*CertAndKey, error) {
	key, err := GenerateKey(opts.KeyType)
	if err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}
	crt, err := ca.IssueForKey(key.Public(), opts)
	if err != nil {
		return nil, err
	}
	keyPEM, err := EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	return &CertAndKey{Crt: crt, Key: keyPEM}, nil
}

// IssueForKey returns a PEM certificate for pub signed by the CA; the
// KeyType of opts is ignored.
func (ca *CA) IssueForKey(pub crypto.PublicKey, opts CertOptions) ([]byte, error) {
	p, err := newPeriod(opts.Validity, opts.Now)
	if err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}
	if p.now.Before(ca.Cert.NotBefore) || p.now.After(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("issue certificate: CA %q is valid from %s to %s, not at %s",
			describe(ca.Cert), ca.Cert.NotBefore.Format(time.RFC3339), ca.Cert.NotAfter.Format(time.RFC3339), p.now.Format(time.RFC3339))
	}
	// Never outlive the CA: a chain is only as valid as its CA.
	if p.notBefore.Before(ca.Cert.NotBefore) {
		p.notBefore = ca.Cert.NotBefore
	}
	if p.notAfter.After(ca.Cert.NotAfter) {
		p.notAfter = ca.Cert.NotAfter
	}
	tmpl, err := leafTemplate(opts.Subject, opts.Usage, pub, p)
	if err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}
	return EncodeCertPEM(der), nil
}

// SignCSR checks a PEM certificate signing request and returns a PEM
// certificate signed by the CA with the request's subject and alternative
// names. Callers that must restrict what may be requested (trustd) inspect
// the request with ParseCSRPEM first.
func (ca *CA) SignCSR(csrPEM []byte, opts SignOptions) ([]byte, error) {
	csr, err := ParseCSRPEM(csrPEM)
	if err != nil {
		return nil, fmt.Errorf("sign CSR: %w", err)
	}
	subject := Subject{
		CommonName:   csr.Subject.CommonName,
		Organization: csr.Subject.Organization,
		DNSNames:     csr.DNSNames,
	}
	for _, ip := range csr.IPAddresses {
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			return nil, fmt.Errorf("sign CSR: invalid IP address %v", ip)
		}
		subject.IPs = append(subject.IPs, addr.Unmap())
	}
	return ca.IssueForKey(csr.PublicKey, CertOptions{
		Subject:  subject,
		Usage:    opts.Usage,
		Validity: opts.Validity,
		Now:      opts.Now,
	})
}

// NewCSR returns a PEM certificate signing request for key and subject.
func NewCSR(key crypto.Signer, s Subject) ([]byte, error) {
	ips, err := s.ips()
	if err != nil {
		return nil, fmt.Errorf("new CSR: %w", err)
	}
	tmpl := &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: s.CommonName, Organization: s.Organization},
		IPAddresses: ips,
		DNSNames:    s.DNSNames,
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("new CSR: %w", err)
	}
	return pemEncode(pemCSR, der), nil
}

// leafTemplate returns the template of a non-CA certificate.
func leafTemplate(s Subject, u Usage, pub crypto.PublicKey, p period) (*x509.Certificate, error) {
	ext, err := u.extKeyUsage()
	if err != nil {
		return nil, err
	}
	ips, err := s.ips()
	if err != nil {
		return nil, err
	}
	usage := x509.KeyUsageDigitalSignature
	if _, isRSA := pub.(*rsa.PublicKey); isRSA {
		usage |= x509.KeyUsageKeyEncipherment
	}
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: s.CommonName, Organization: s.Organization},
		IPAddresses:           ips,
		DNSNames:              s.DNSNames,
		NotBefore:             p.notBefore,
		NotAfter:              p.notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              usage,
		ExtKeyUsage:           ext,
	}, nil
}

// selfSign signs tmpl with key and PEM-encodes the certificate and key.
func selfSign(tmpl *x509.Certificate, key crypto.Signer) (*CertAndKey, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	keyPEM, err := EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	return &CertAndKey{Crt: EncodeCertPEM(der), Key: keyPEM}, nil
}
