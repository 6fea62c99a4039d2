package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"
)

// EncodeCertPEM encodes a DER certificate as a PEM "CERTIFICATE" block.
func EncodeCertPEM(der []byte) []byte { return pemEncode(pemCertificate, der) }

// pemEncode wraps der in a PEM block of type typ.
func pemEncode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// ParseCertPEM decodes the first PEM certificate in data.
func ParseCertPEM(data []byte) (*x509.Certificate, error) {
	block, err := decodePEM(data, pemCertificate)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return cert, nil
}

// ParseCSRPEM decodes the first PEM certificate signing request in data and
// checks its self-signature, which proves the requester holds the key.
func ParseCSRPEM(data []byte) (*x509.CertificateRequest, error) {
	block, err := decodePEM(data, pemCSR)
	if err != nil {
		return nil, fmt.Errorf("parse certificate request: %w", err)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("certificate request signature: %w", err)
	}
	return csr, nil
}

// KeyMatchesCert returns nil if the PEM private key is the one whose public
// half the PEM certificate certifies, and an error saying why not otherwise.
func KeyMatchesCert(certPEM, keyPEM []byte) error {
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return err
	}
	key, err := ParseKeyPEM(keyPEM)
	if err != nil {
		return err
	}
	if !equalKeys(key.Public(), cert.PublicKey) {
		return fmt.Errorf("private key does not match the public key of certificate %q", describe(cert))
	}
	return nil
}

// Fingerprint returns the SHA-256 fingerprint of a certificate given as PEM
// or DER, as upper-case hex pairs joined by colons (the form openssl prints),
// so that a user can compare it with the one a node shows on its console.
func Fingerprint(cert []byte) (string, error) {
	der := cert
	if block, _ := pem.Decode(cert); block != nil {
		if block.Type != pemCertificate {
			return "", fmt.Errorf("fingerprint: PEM block is %q, want %q", block.Type, pemCertificate)
		}
		der = block.Bytes
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	sum := sha256.Sum256(der)
	pairs := make([]string, len(sum))
	for i, b := range sum {
		pairs[i] = strings.ToUpper(hex.EncodeToString([]byte{b}))
	}
	return strings.Join(pairs, ":"), nil
}

// describe names a certificate in error messages.
func describe(cert *x509.Certificate) string {
	if cert.Subject.CommonName != "" {
		return cert.Subject.CommonName
	}
	return cert.Subject.String()
}
