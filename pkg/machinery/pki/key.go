// Package pki generates the keys and certificates of a Plinth cluster: CAs,
// server, client and peer certificates issued from them, and certificate
// signing requests. Keys and certificates travel as PEM (keys in PKCS#8).
//
// Randomness always comes from crypto/rand: since Go 1.26 the crypto
// packages ignore caller-supplied random readers, so tests that need
// reproducible output use testing/cryptotest.SetGlobalRandom together with a
// fixed clock (the Now field of the options).
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// PEM block types used by this package.
const (
	pemCertificate = "CERTIFICATE"
	pemPrivateKey  = "PRIVATE KEY"
	pemCSR         = "CERTIFICATE REQUEST"
	pemECKey       = "EC PRIVATE KEY"
	pemRSAKey      = "RSA PRIVATE KEY"
)

// KeyType is the algorithm of a generated private key.
type KeyType string

// The supported key types. The zero KeyType means KeyECDSAP256.
const (
	KeyECDSAP256 KeyType = "ecdsa-p256"
	KeyEd25519   KeyType = "ed25519"
	KeyRSA2048   KeyType = "rsa-2048"
	KeyRSA4096   KeyType = "rsa-4096"
)

// GenerateKey returns a new private key of type t.
func GenerateKey(t KeyType) (crypto.Signer, error) {
	switch t {
	case "", KeyECDSAP256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate ECDSA P-256 key: %w", err)
		}
		return k, nil
	case KeyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate Ed25519 key: %w", err)
		}
		return k, nil
	case KeyRSA2048, KeyRSA4096:
		bits := 2048
		if t == KeyRSA4096 {
			bits = 4096
		}
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, fmt.Errorf("generate RSA-%d key: %w", bits, err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("unknown key type %q", t)
	}
}

// GenerateKeyPEM returns a new PEM-encoded PKCS#8 private key of type t.
func GenerateKeyPEM(t KeyType) ([]byte, error) {
	k, err := GenerateKey(t)
	if err != nil {
		return nil, err
	}
	return EncodeKeyPEM(k)
}

// EncodeKeyPEM encodes key as a PEM "PRIVATE KEY" block in PKCS#8 form.
func EncodeKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// ParseKeyPEM decodes a PEM private key: PKCS#8 ("PRIVATE KEY") as written
// by this package, and for interoperability SEC 1 ("EC PRIVATE KEY") and
// PKCS#1 ("RSA PRIVATE KEY").
func ParseKeyPEM(data []byte) (crypto.Signer, error) {
	block, err := decodePEM(data, pemPrivateKey, pemECKey, pemRSAKey)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	var key any
	switch block.Type {
	case pemECKey:
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case pemRSAKey:
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("parse private key: %T cannot sign", key)
	}
	return signer, nil
}

// ErrNoPEM is returned when the input holds no PEM block at all, for
// instance an empty file or a DER file.
var ErrNoPEM = errors.New("no PEM data found")

// decodePEM returns the first PEM block of data, which must have one of the
// wanted types.
func decodePEM(data []byte, want ...string) (*pem.Block, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, ErrNoPEM
	}
	for _, w := range want {
		if block.Type == w {
			return block, nil
		}
	}
	return nil, fmt.Errorf("PEM block is %q, want %q", block.Type, want[0])
}

// equalKeys reports whether two public keys are the same.
func equalKeys(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
