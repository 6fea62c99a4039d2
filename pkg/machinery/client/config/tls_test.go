package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

// selfSigned returns a throwaway self-signed certificate with the given
// Organization and its key, both PEM-encoded.
func selfSigned(t *testing.T, orgs ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test", Organization: orgs},
		NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

func TestTLSMaterial(t *testing.T) {
	crt, key := selfSigned(t, "os:admin")
	good := &Context{CA: EncodePEM(crt), Crt: EncodePEM(crt), Key: EncodePEM(key)}

	pool, err := good.CertPool()
	if err != nil || pool == nil {
		t.Fatalf("CertPool() = %v, %v", pool, err)
	}
	pair, err := good.ClientCertificate()
	if err != nil {
		t.Fatalf("ClientCertificate() error = %v", err)
	}
	if pair.Leaf == nil || !reflect.DeepEqual(pair.Leaf.Subject.Organization, []string{"os:admin"}) {
		t.Errorf("ClientCertificate() leaf = %v", pair.Leaf)
	}
	cert, err := good.Certificate()
	if err != nil || !cert.NotAfter.Equal(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Certificate() = %v, %v", cert, err)
	}

	// Wrapped base64, as some tools write it, is accepted.
	wrapped := *good
	wrapped.Crt = good.Crt[:40] + "\n  " + good.Crt[40:]
	if _, err := wrapped.ClientCertificate(); err != nil {
		t.Errorf("ClientCertificate() of wrapped base64: %v", err)
	}
}

func TestTLSMaterialErrors(t *testing.T) {
	crt, key := selfSigned(t, "os:admin")
	otherCrt, _ := selfSigned(t, "os:reader")
	notPEM := EncodePEM([]byte("hello"))
	tests := []struct {
		name          string
		ctx           Context
		pool, pair, c string // wanted error substrings of CertPool, ClientCertificate, Certificate
	}{
		{name: "empty", ctx: Context{},
			pool: "ca: empty in the context", pair: "crt: empty in the context", c: "crt: empty in the context"},
		{name: "bad base64", ctx: Context{CA: "!!", Crt: "!!", Key: EncodePEM(key)},
			pool: "ca: not valid base64", pair: "crt: not valid base64", c: "crt: not valid base64"},
		{name: "not PEM", ctx: Context{CA: notPEM, Crt: notPEM, Key: notPEM},
			pool: "ca: no valid PEM certificate", pair: "crt and key:", c: "crt: no PEM CERTIFICATE block"},
		{name: "missing key", ctx: Context{CA: EncodePEM(crt), Crt: EncodePEM(crt)},
			pair: "key: empty in the context"},
		{name: "key of another cert", ctx: Context{CA: EncodePEM(crt), Crt: EncodePEM(otherCrt), Key: EncodePEM(key)},
			pair: "crt and key: tls: private key does not match public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(what, want string, err error) {
				t.Helper()
				switch {
				case want == "" && err != nil:
					t.Errorf("%s error = %v, want none", what, err)
				case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
					t.Errorf("%s error = %v, want %q", what, err, want)
				}
			}
			_, err := tt.ctx.CertPool()
			check("CertPool()", tt.pool, err)
			_, err = tt.ctx.ClientCertificate()
			check("ClientCertificate()", tt.pair, err)
			_, err = tt.ctx.Certificate()
			check("Certificate()", tt.c, err)
		})
	}
}
