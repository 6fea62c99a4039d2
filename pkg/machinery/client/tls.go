package client

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// tlsConfig returns the TLS configuration the options ask for: mutual TLS
// from the context, or maintenance TLS.
func (o *options) tlsConfig() (*tls.Config, error) {
	if o.maintenance {
		return maintenanceTLS(o.fingerprint)
	}
	if o.context == nil {
		return nil, errors.New("no client context: the client needs a context's CA and certificate, or maintenance mode")
	}
	pool, err := o.context.CertPool()
	if err != nil {
		return nil, fmt.Errorf("client context: %w", err)
	}
	cert, err := o.context.ClientCertificate()
	if err != nil {
		return nil, fmt.Errorf("client context: %w", err)
	}
	return &tls.Config{
		RootCAs:      pool,
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// maintenanceTLS skips CA verification, which a maintenance node's
// self-signed certificate cannot pass, and pins the certificate by its
// SHA-256 fingerprint when one is given.
func maintenanceTLS(fingerprint string) (*tls.Config, error) {
	var want []byte
	if fingerprint != "" {
		var err error
		if want, err = ParseFingerprint(fingerprint); err != nil {
			return nil, err
		}
	}
	return &tls.Config{
		// The node's certificate is self-signed: it is checked below
		// against the fingerprint, or (without one) deliberately not at all.
		InsecureSkipVerify: true, //nolint:gosec // see WithMaintenance
		MinVersion:         tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if want == nil {
				return nil
			}
			if len(cs.PeerCertificates) == 0 {
				return errors.New("node sent no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if !bytes.Equal(got[:], want) {
				return fmt.Errorf("node certificate fingerprint %s does not match the expected %s",
					FormatFingerprint(got[:]), FormatFingerprint(want))
			}
			return nil
		},
	}, nil
}

// ParseFingerprint parses a SHA-256 certificate fingerprint written as hex,
// with or without colons, in either case.
func ParseFingerprint(s string) ([]byte, error) {
	clean := strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	sum, err := hex.DecodeString(clean)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("certificate fingerprint %q: expected a SHA-256 as 64 hex digits (colons allowed)", s)
	}
	return sum, nil
}

// FormatFingerprint writes a fingerprint as upper-case hex pairs joined by
// colons, the form pki.Fingerprint and the node's console use.
func FormatFingerprint(sum []byte) string {
	pairs := make([]string, len(sum))
	for i, b := range sum {
		pairs[i] = strings.ToUpper(hex.EncodeToString([]byte{b}))
	}
	return strings.Join(pairs, ":")
}
