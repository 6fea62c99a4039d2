package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestGenerateKeyRoundTrip(t *testing.T) {
	tests := []struct {
		typ   KeyType
		check func(crypto.Signer) bool
	}{
		{"", func(k crypto.Signer) bool { e, ok := k.(*ecdsa.PrivateKey); return ok && e.Curve == elliptic.P256() }},
		{KeyECDSAP256, func(k crypto.Signer) bool { e, ok := k.(*ecdsa.PrivateKey); return ok && e.Curve == elliptic.P256() }},
		{KeyEd25519, func(k crypto.Signer) bool { _, ok := k.(ed25519.PrivateKey); return ok }},
		{KeyRSA2048, func(k crypto.Signer) bool { r, ok := k.(*rsa.PrivateKey); return ok && r.N.BitLen() == 2048 }},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			keyPEM, err := GenerateKeyPEM(tt.typ)
			if err != nil {
				t.Fatalf("GenerateKeyPEM: %v", err)
			}
			if block, _ := pem.Decode(keyPEM); block == nil || block.Type != "PRIVATE KEY" {
				t.Fatalf("key is not a PKCS#8 PEM block:\n%s", keyPEM)
			}
			key, err := ParseKeyPEM(keyPEM)
			if err != nil {
				t.Fatalf("ParseKeyPEM: %v", err)
			}
			if !tt.check(key) {
				t.Errorf("key is %T, not a %q key", key, tt.typ)
			}
			again, err := EncodeKeyPEM(key)
			if err != nil || string(again) != string(keyPEM) {
				t.Errorf("re-encoding differs (err %v)", err)
			}
		})
	}
}

func TestGenerateKeyUnknown(t *testing.T) {
	if _, err := GenerateKey("dsa"); err == nil || !strings.Contains(err.Error(), `unknown key type "dsa"`) {
		t.Errorf("GenerateKey(dsa) error = %v", err)
	}
}

func TestParseKeyPEMLegacyForms(t *testing.T) {
	ec, err := GenerateKey(KeyECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ec.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	rk, err := GenerateKey(KeyRSA2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pem  []byte
		want crypto.Signer
	}{
		{"SEC 1", pemEncode("EC PRIVATE KEY", sec1), ec},
		{"PKCS#1", pemEncode("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk.(*rsa.PrivateKey))), rk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKeyPEM(tt.pem)
			if err != nil {
				t.Fatalf("ParseKeyPEM: %v", err)
			}
			if !equalKeys(got.Public(), tt.want.Public()) {
				t.Error("parsed key differs from the original")
			}
		})
	}
}

func TestParseKeyPEMErrors(t *testing.T) {
	ca := newTestCA(t, KeyECDSAP256)
	tests := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{"empty", nil, "no PEM data found"},
		{"DER", []byte{0x30, 0x03, 0x02, 0x01, 0x01}, "no PEM data found"},
		{"certificate", ca.Crt, `PEM block is "CERTIFICATE", want "PRIVATE KEY"`},
		{"garbage PKCS#8", pemEncode("PRIVATE KEY", []byte("nonsense")), "parse private key"},
		{"garbage SEC 1", pemEncode("EC PRIVATE KEY", []byte("nonsense")), "parse private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeyPEM(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			if tt.wantErr == "no PEM data found" && !errors.Is(err, ErrNoPEM) {
				t.Errorf("error %v is not ErrNoPEM", err)
			}
		})
	}
}
