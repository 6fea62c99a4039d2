package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// CertPool returns a pool holding the context's CA certificate, to verify
// the nodes' API certificates.
func (x *Context) CertPool() (*x509.CertPool, error) {
	ca, err := decodeField("ca", x.CA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("ca: no valid PEM certificate in it")
	}
	return pool, nil
}

// ClientCertificate returns the context's client certificate and key as a
// TLS certificate, with Leaf set.
func (x *Context) ClientCertificate() (tls.Certificate, error) {
	crt, err := decodeField("crt", x.Crt)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := decodeField("key", x.Key)
	if err != nil {
		return tls.Certificate{}, err
	}
	pair, err := tls.X509KeyPair(crt, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("crt and key: %w", err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("crt: %w", err)
		}
	}
	return pair, nil
}

// Certificate parses the context's client certificate alone (no key
// needed), to show its roles (Subject.Organization) and expiry.
func (x *Context) Certificate() (*x509.Certificate, error) {
	crt, err := decodeField("crt", x.Crt)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(crt)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("crt: no PEM CERTIFICATE block in it")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("crt: %w", err)
	}
	return cert, nil
}

// EncodePEM encodes PEM data the way the config stores it (base64).
func EncodePEM(pemData []byte) string { return base64.StdEncoding.EncodeToString(pemData) }

// decodeField decodes one base64 field of a context, ignoring whitespace so
// that wrapped values work.
func decodeField(name, value string) ([]byte, error) {
	value = strings.Join(strings.Fields(value), "")
	if value == "" {
		return nil, fmt.Errorf("%s: empty in the context", name)
	}
	data, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return nil, fmt.Errorf("%s: not valid base64: %w", name, err)
	}
	return data, nil
}
