package secrets

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

func newTestBundle(t *testing.T) *Bundle {
	t.Helper()
	b, err := NewBundle(WithClock(fixedClock))
	if err != nil {
		t.Fatalf("NewBundle: %v", err)
	}
	return b
}

func TestNewBundle(t *testing.T) {
	b := newTestBundle(t)
	if err := b.Validate(); err != nil {
		t.Fatalf("new bundle does not validate: %v", err)
	}
	if b.Secrets.BootstrapToken == b.Machine.TrustdToken || b.Cluster.ID == b.Cluster.Secret {
		t.Error("random values repeat")
	}
	cas := []struct {
		name    string
		ck      pki.CertAndKey
		ed25519 bool
	}{
		{"os", b.Certs.OS, true},
		{"k8s", b.Certs.K8s, false},
		{"k8sAggregator", b.Certs.K8sAggregator, false},
		{"etcd", b.Certs.Etcd, false},
	}
	for _, tt := range cas {
		ca, err := pki.ParseCA(&tt.ck)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		switch ca.Cert.PublicKey.(type) {
		case ed25519.PublicKey:
			if !tt.ed25519 {
				t.Errorf("%s CA is Ed25519, want ECDSA", tt.name)
			}
		case *ecdsa.PublicKey:
			if tt.ed25519 {
				t.Errorf("%s CA is ECDSA, want Ed25519", tt.name)
			}
		default:
			t.Errorf("%s CA key is %T", tt.name, ca.Cert.PublicKey)
		}
		if want := testNow.Add(DefaultCAValidity); !ca.Cert.NotAfter.Equal(want) {
			t.Errorf("%s CA NotAfter = %v, want %v", tt.name, ca.Cert.NotAfter, want)
		}
	}
	if len(b.Certs.K8sServiceAccount.Crt) != 0 {
		t.Error("service account entry holds a certificate")
	}
	if _, err := pki.ParseKeyPEM(b.Certs.K8sServiceAccount.Key); err != nil {
		t.Errorf("service account key: %v", err)
	}
}

func TestWriteLoadRoundTrip(t *testing.T) {
	b := newTestBundle(t)
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	if err := b.Write(path); err != nil {
		t.Fatalf("Write: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Error("loaded bundle differs from the written one")
	}
	data, _ := os.ReadFile(path)
	for _, want := range []string{"cluster:\n  id: ", "bootstrapToken: ", "trustdToken: ", "  os:\n    crt: LS0t", "  k8sServiceAccount:\n    key: LS0t"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("secrets.yaml lacks %q", want)
		}
	}
}

func TestWriteRefusesInvalid(t *testing.T) {
	b := newTestBundle(t)
	b.Machine.TrustdToken = "nope"
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	if err := b.Write(path); err == nil || !strings.Contains(err.Error(), "machine.trustdToken") {
		t.Fatalf("Write error = %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("an invalid bundle was written")
	}
}

func TestDeterministic(t *testing.T) {
	gen := func() []byte {
		cryptotest.SetGlobalRandom(t, 7)
		data, err := newTestBundle(t).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	a, b := gen(), gen()
	if !bytes.Equal(a, b) {
		t.Error("same seed and clock gave different bundles")
	}
	cryptotest.SetGlobalRandom(t, 8)
	c, _ := newTestBundle(t).Marshal()
	if bytes.Equal(a, c) {
		t.Error("different seeds gave the same bundle")
	}
}

func TestTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		tok := NewToken()
		if !ValidToken(tok) {
			t.Fatalf("NewToken() = %q, not a bootstrap token", tok)
		}
		if seen[tok] {
			t.Fatalf("NewToken repeated %q", tok)
		}
		seen[tok] = true
	}
	for _, bad := range []string{"", "abcdef.0123456789abcde", "ABCDEF.0123456789abcdef", "abcdef0123456789abcdef", "abcdef.0123456789abcdef\n"} {
		if ValidToken(bad) {
			t.Errorf("ValidToken(%q) = true", bad)
		}
	}
}

func TestAdminClientCert(t *testing.T) {
	b := newTestBundle(t)
	tests := []struct {
		name    string
		roles   []string
		wantOrg []string
		wantErr string
	}{
		{"admin", []string{"os:admin"}, []string{"os:admin"}, ""},
		{"several sorted", []string{"os:reader", "os:etcd:backup"}, []string{"os:etcd:backup", "os:reader"}, ""},
		{"unknown role", []string{"os:root"}, nil, `unknown role "os:root"`},
		{"no roles", nil, nil, "no roles given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ck, err := b.AdminClientCert(tt.roles, time.Hour, WithClock(fixedClock))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("AdminClientCert: %v", err)
			}
			if err := pki.KeyMatchesCert(ck.Crt, ck.Key); err != nil {
				t.Fatal(err)
			}
			c, _ := pki.ParseCertPEM(ck.Crt)
			org := slices.Sorted(slices.Values(c.Subject.Organization)) // DER sorts the SET
			if !slices.Equal(org, tt.wantOrg) || c.Subject.CommonName != AdminClientCommonName {
				t.Errorf("subject = %v, want O=%v", c.Subject, tt.wantOrg)
			}
			if !c.NotAfter.Equal(testNow.Add(time.Hour)) {
				t.Errorf("NotAfter = %v", c.NotAfter)
			}
			ca, _ := pki.ParseCertPEM(b.Certs.OS.Crt)
			roots := x509.NewCertPool()
			roots.AddCert(ca)
			opts := x509.VerifyOptions{Roots: roots, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
			if _, err := c.Verify(opts); err != nil {
				t.Errorf("client certificate does not verify against the OS CA: %v", err)
			}
		})
	}
}

func TestAdminClientCertWithoutCAKey(t *testing.T) {
	b := newTestBundle(t)
	b.Certs.OS.Key = nil
	if _, err := b.AdminClientCert([]string{"os:admin"}, time.Hour); err == nil || !strings.Contains(err.Error(), "OS CA") {
		t.Fatalf("error = %v, want one about the OS CA", err)
	}
}
