package pki

import (
	"crypto/sha256"
	"encoding/pem"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testNow is the fixed clock of these tests.
var testNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func fixedClock() time.Time { return testNow }

// newTestCA returns a fresh CA valid for ten years from testNow.
func newTestCA(t *testing.T, kt KeyType) *CertAndKey {
	t.Helper()
	ca, err := NewCA(CAOptions{CommonName: "test CA", Organization: []string{"plinth"}, KeyType: kt, Validity: 10 * 365 * 24 * time.Hour, Now: fixedClock})
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func TestParseCertPEMErrors(t *testing.T) {
	ca := newTestCA(t, KeyEd25519)
	tests := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{"empty", nil, "parse certificate: no PEM data found"},
		{"key", ca.Key, `parse certificate: PEM block is "PRIVATE KEY", want "CERTIFICATE"`},
		{"garbage", pemEncode("CERTIFICATE", []byte{1, 2, 3}), "parse certificate: x509:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseCertPEM(tt.in); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	if _, err := ParseCertPEM(ca.Crt); err != nil {
		t.Errorf("ParseCertPEM of a valid certificate: %v", err)
	}
}

func TestKeyMatchesCert(t *testing.T) {
	ecCA := newTestCA(t, KeyECDSAP256)
	ecOther := newTestCA(t, KeyECDSAP256)
	edCA := newTestCA(t, KeyEd25519)
	tests := []struct {
		name     string
		crt, key []byte
		wantErr  string
	}{
		{"matching ECDSA", ecCA.Crt, ecCA.Key, ""},
		{"matching Ed25519", edCA.Crt, edCA.Key, ""},
		{"other ECDSA key", ecCA.Crt, ecOther.Key, `private key does not match the public key of certificate "test CA"`},
		{"Ed25519 key for ECDSA cert", ecCA.Crt, edCA.Key, "does not match"},
		{"swapped", ecCA.Key, ecCA.Crt, "parse certificate"},
		{"empty key", ecCA.Crt, nil, "parse private key: no PEM data found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := KeyMatchesCert(tt.crt, tt.key)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("KeyMatchesCert: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	ca := newTestCA(t, KeyEd25519)
	block, _ := pem.Decode(ca.Crt)
	sum := sha256.Sum256(block.Bytes)
	var parts []string
	for _, b := range sum {
		parts = append(parts, fmt.Sprintf("%02X", b))
	}
	want := strings.Join(parts, ":")

	for name, in := range map[string][]byte{"PEM": ca.Crt, "DER": block.Bytes} {
		got, err := Fingerprint(in)
		if err != nil {
			t.Fatalf("Fingerprint(%s): %v", name, err)
		}
		if got != want {
			t.Errorf("Fingerprint(%s) = %s, want %s", name, got, want)
		}
	}
	if !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(want) {
		t.Errorf("fingerprint %q is not 32 colon-separated hex pairs", want)
	}

	errTests := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{"key PEM", ca.Key, `PEM block is "PRIVATE KEY", want "CERTIFICATE"`},
		{"garbage", []byte("hello"), "fingerprint: x509:"},
		{"empty", nil, "fingerprint: x509:"},
	}
	for _, tt := range errTests {
		if _, err := Fingerprint(tt.in); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Fingerprint(%s) error = %v, want it to contain %q", tt.name, err, tt.wantErr)
		}
	}
}
