package pki

import (
	"crypto/x509"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewCA(t *testing.T) {
	for _, kt := range []KeyType{KeyECDSAP256, KeyEd25519, KeyRSA2048} {
		t.Run(string(kt), func(t *testing.T) {
			ck := newTestCA(t, kt)
			ca, err := ParseCA(ck)
			if err != nil {
				t.Fatalf("ParseCA: %v", err)
			}
			c := ca.Cert
			if !c.IsCA || !c.BasicConstraintsValid {
				t.Error("CA certificate is not marked as a CA")
			}
			if c.KeyUsage&x509.KeyUsageCertSign == 0 {
				t.Errorf("key usage %b lacks cert signing", c.KeyUsage)
			}
			if c.Subject.CommonName != "test CA" || !slices.Equal(c.Subject.Organization, []string{"plinth"}) {
				t.Errorf("subject = %v", c.Subject)
			}
			if want := testNow.Add(-backdate); !c.NotBefore.Equal(want) {
				t.Errorf("NotBefore = %v, want %v", c.NotBefore, want)
			}
			if want := testNow.Add(10 * 365 * 24 * time.Hour); !c.NotAfter.Equal(want) {
				t.Errorf("NotAfter = %v, want %v", c.NotAfter, want)
			}
			if err := c.CheckSignatureFrom(c); err != nil {
				t.Errorf("CA is not self-signed: %v", err)
			}
		})
	}
}

func TestNewCAErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    CAOptions
		wantErr string
	}{
		{"no validity", CAOptions{}, "validity must be positive"},
		{"negative validity", CAOptions{Validity: -time.Hour}, "validity must be positive, got -1h0m0s"},
		{"bad key type", CAOptions{Validity: time.Hour, KeyType: "rsa-512"}, `unknown key type "rsa-512"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewCA(tt.opts); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestIssue(t *testing.T) {
	tests := []struct {
		name    string
		caKey   KeyType
		opts    CertOptions
		wantExt []x509.ExtKeyUsage
		wantKU  x509.KeyUsage
	}{
		{
			name:  "server",
			caKey: KeyEd25519,
			opts: CertOptions{
				Subject: Subject{CommonName: "node-1", IPs: []netip.Addr{netip.MustParseAddr("10.5.0.2"), netip.MustParseAddr("fd00::2")}, DNSNames: []string{"node-1", "node-1.local"}},
				Usage:   UsageServer, KeyType: KeyEd25519,
			},
			wantExt: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			wantKU:  x509.KeyUsageDigitalSignature,
		},
		{
			name:  "client with roles",
			caKey: KeyEd25519,
			opts: CertOptions{
				Subject: Subject{CommonName: "admin", Organization: []string{"os:admin", "os:reader"}},
				Usage:   UsageClient, KeyType: KeyEd25519,
			},
			wantExt: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			wantKU:  x509.KeyUsageDigitalSignature,
		},
		{
			name:  "peer",
			caKey: KeyECDSAP256,
			opts: CertOptions{
				Subject: Subject{CommonName: "etcd-1", IPs: []netip.Addr{netip.MustParseAddr("::ffff:10.0.0.1")}},
				Usage:   UsagePeer,
			},
			wantExt: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			wantKU:  x509.KeyUsageDigitalSignature,
		},
		{
			name:    "RSA server key can encipher",
			caKey:   KeyECDSAP256,
			opts:    CertOptions{Subject: Subject{DNSNames: []string{"kubernetes"}}, Usage: UsageServer, KeyType: KeyRSA2048},
			wantExt: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			wantKU:  x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caCK := newTestCA(t, tt.caKey)
			ca, err := ParseCA(caCK)
			if err != nil {
				t.Fatal(err)
			}
			tt.opts.Validity, tt.opts.Now = 24*time.Hour, fixedClock
			ck, err := ca.Issue(tt.opts)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if err := KeyMatchesCert(ck.Crt, ck.Key); err != nil {
				t.Fatalf("issued key does not match: %v", err)
			}
			c, err := ParseCertPEM(ck.Crt)
			if err != nil {
				t.Fatal(err)
			}
			verifyChain(t, c, ca.Cert, tt.wantExt)
			checkSubject(t, c, tt.opts.Subject)
			if c.IsCA {
				t.Error("leaf is marked as a CA")
			}
			if !slices.Equal(c.ExtKeyUsage, tt.wantExt) || c.KeyUsage != tt.wantKU {
				t.Errorf("usages = %v / %b, want %v / %b", c.ExtKeyUsage, c.KeyUsage, tt.wantExt, tt.wantKU)
			}
			if want := testNow.Add(24 * time.Hour); !c.NotAfter.Equal(want) {
				t.Errorf("NotAfter = %v, want %v", c.NotAfter, want)
			}
		})
	}
}

// verifyChain checks that leaf verifies against root for usages at testNow.
func verifyChain(t *testing.T, leaf, root *x509.Certificate, usages []x509.ExtKeyUsage) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(root)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: testNow, KeyUsages: usages}); err != nil {
		t.Errorf("certificate does not verify against its CA: %v", err)
	}
}

// checkSubject compares a certificate's subject and SANs with s.
func checkSubject(t *testing.T, c *x509.Certificate, s Subject) {
	t.Helper()
	// DER encodes the organizations as a SET, which sorts them.
	org := slices.Sorted(slices.Values(c.Subject.Organization))
	if c.Subject.CommonName != s.CommonName || !slices.Equal(org, slices.Sorted(slices.Values(s.Organization))) {
		t.Errorf("subject = %v, want CN=%s O=%v", c.Subject, s.CommonName, s.Organization)
	}
	if !slices.Equal(c.DNSNames, s.DNSNames) {
		t.Errorf("DNS names = %v, want %v", c.DNSNames, s.DNSNames)
	}
	var ips []netip.Addr
	for _, ip := range c.IPAddresses {
		a, _ := netip.AddrFromSlice(ip)
		ips = append(ips, a.Unmap())
	}
	var want []netip.Addr
	for _, ip := range s.IPs {
		want = append(want, ip.Unmap())
	}
	if !slices.Equal(ips, want) {
		t.Errorf("IPs = %v, want %v", ips, want)
	}
}

func TestIssueDoesNotVerifyAgainstOtherCA(t *testing.T) {
	ca, err := ParseCA(newTestCA(t, KeyEd25519))
	if err != nil {
		t.Fatal(err)
	}
	other, err := ParseCA(newTestCA(t, KeyEd25519))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := ca.Issue(CertOptions{Subject: Subject{CommonName: "x"}, Usage: UsageClient, Validity: time.Hour, Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := ParseCertPEM(ck.Crt)
	roots := x509.NewCertPool()
	roots.AddCert(other.Cert)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("certificate verified against a CA that did not sign it")
	}
}

func TestIssueValidityAndErrors(t *testing.T) {
	ca, err := ParseCA(newTestCA(t, KeyECDSAP256))
	if err != nil {
		t.Fatal(err)
	}
	base := CertOptions{Subject: Subject{CommonName: "x"}, Usage: UsageServer, Validity: time.Hour, Now: fixedClock}
	tests := []struct {
		name    string
		mutate  func(*CertOptions)
		wantErr string
	}{
		{"usage not set", func(o *CertOptions) { o.Usage = 0 }, "certificate usage not set"},
		{"unknown usage", func(o *CertOptions) { o.Usage = 9 }, "unknown certificate usage 9"},
		{"zero validity", func(o *CertOptions) { o.Validity = 0 }, "validity must be positive"},
		{"invalid IP", func(o *CertOptions) { o.IPs = []netip.Addr{{}} }, "invalid IP address"},
		{"CA expired", func(o *CertOptions) {
			o.Now = func() time.Time { return testNow.Add(11 * 365 * 24 * time.Hour) }
		}, `CA "test CA" is valid from`},
		{"CA not yet valid", func(o *CertOptions) {
			o.Now = func() time.Time { return testNow.Add(-time.Hour) }
		}, `CA "test CA" is valid from`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := base
			tt.mutate(&opts)
			if _, err := ca.Issue(opts); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}

	// A certificate asked to outlive its CA ends with the CA.
	opts := base
	opts.Validity = 20 * 365 * 24 * time.Hour
	ck, err := ca.Issue(opts)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	c, _ := ParseCertPEM(ck.Crt)
	if !c.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter = %v, want the CA's %v", c.NotAfter, ca.Cert.NotAfter)
	}

	// Nor is it backdated to before the CA.
	opts = base
	opts.Now = func() time.Time { return testNow.Add(-2 * time.Minute) }
	if ck, err = ca.Issue(opts); err != nil {
		t.Fatalf("Issue: %v", err)
	}
	c, _ = ParseCertPEM(ck.Crt)
	if !c.NotBefore.Equal(ca.Cert.NotBefore) {
		t.Errorf("NotBefore = %v, want the CA's %v", c.NotBefore, ca.Cert.NotBefore)
	}
}

func TestParseCAErrors(t *testing.T) {
	caCK := newTestCA(t, KeyEd25519)
	ca, err := ParseCA(caCK)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(CertOptions{Subject: Subject{CommonName: "leaf"}, Usage: UsageClient, Validity: time.Hour, Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	other := newTestCA(t, KeyEd25519)
	tests := []struct {
		name    string
		ck      *CertAndKey
		wantErr string
	}{
		{"not a CA", leaf, `certificate "leaf" is not a CA`},
		{"wrong key", &CertAndKey{Crt: caCK.Crt, Key: other.Key}, "does not match"},
		{"no key", &CertAndKey{Crt: caCK.Crt}, "parse CA: parse private key: no PEM data found"},
		{"no cert", &CertAndKey{Key: caCK.Key}, "parse CA: parse certificate: no PEM data found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseCA(tt.ck); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewSelfSigned(t *testing.T) {
	subject := Subject{CommonName: "maintenance", IPs: []netip.Addr{netip.MustParseAddr("192.168.1.10")}}
	ck, err := NewSelfSigned(CertOptions{Subject: subject, Usage: UsageServer, KeyType: KeyEd25519, Validity: time.Hour, Now: fixedClock})
	if err != nil {
		t.Fatalf("NewSelfSigned: %v", err)
	}
	if err := KeyMatchesCert(ck.Crt, ck.Key); err != nil {
		t.Fatal(err)
	}
	c, _ := ParseCertPEM(ck.Crt)
	checkSubject(t, c, subject)
	if c.IsCA {
		t.Error("self-signed leaf is marked as a CA")
	}
	verifyChain(t, c, c, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})
	if _, err := NewSelfSigned(CertOptions{Validity: time.Hour}); err == nil {
		t.Error("NewSelfSigned without a usage succeeded")
	}
}

func TestCSRRoundTrip(t *testing.T) {
	ca, err := ParseCA(newTestCA(t, KeyEd25519))
	if err != nil {
		t.Fatal(err)
	}
	key, err := GenerateKey(KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	subject := Subject{
		CommonName:   "alice",
		Organization: []string{"os:operator", "os:etcd:backup"},
		IPs:          []netip.Addr{netip.MustParseAddr("10.0.0.7")},
		DNSNames:     []string{"alice.example.com"},
	}
	csrPEM, err := NewCSR(key, subject)
	if err != nil {
		t.Fatalf("NewCSR: %v", err)
	}
	crt, err := ca.SignCSR(csrPEM, SignOptions{Usage: UsageClient, Validity: time.Hour, Now: fixedClock})
	if err != nil {
		t.Fatalf("SignCSR: %v", err)
	}
	keyPEM, _ := EncodeKeyPEM(key)
	if err := KeyMatchesCert(crt, keyPEM); err != nil {
		t.Fatalf("certificate is not for the requester's key: %v", err)
	}
	c, _ := ParseCertPEM(crt)
	checkSubject(t, c, subject)
	verifyChain(t, c, ca.Cert, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth})
}

func TestSignCSRErrors(t *testing.T) {
	caCK := newTestCA(t, KeyEd25519)
	ca, _ := ParseCA(caCK)
	key, _ := GenerateKey(KeyEd25519)
	csrPEM, err := NewCSR(key, Subject{CommonName: "mallory"})
	if err != nil {
		t.Fatal(err)
	}
	block := decodeOrFail(t, csrPEM)
	tampered := append([]byte(nil), block...)
	tampered[len(tampered)-1] ^= 0xff // inside the signature

	tests := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{"empty", nil, "sign CSR: parse certificate request: no PEM data found"},
		{"certificate", caCK.Crt, `PEM block is "CERTIFICATE", want "CERTIFICATE REQUEST"`},
		{"bad signature", pemEncode("CERTIFICATE REQUEST", tampered), "certificate request signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ca.SignCSR(tt.in, SignOptions{Usage: UsageClient, Validity: time.Hour, Now: fixedClock})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func decodeOrFail(t *testing.T, p []byte) []byte {
	t.Helper()
	block, err := decodePEM(p, "CERTIFICATE REQUEST")
	if err != nil {
		t.Fatal(err)
	}
	return block.Bytes
}
