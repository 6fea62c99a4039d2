package v1alpha1

import (
	"crypto/x509"
	"encoding/pem"
	"strings"

	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
)

// DocumentKind implements config.Document.
func (t *TrustedRootsConfig) DocumentKind() string { return KindTrustedRootsConfig }

// DocumentName implements config.Document.
func (t *TrustedRootsConfig) DocumentName() string { return t.Name }

// Validate checks that every certificate parses.
func (t *TrustedRootsConfig) Validate(_ validation.Mode, c *validation.Collector) {
	checkDocName(c, t.Name)
	rest := []byte(t.Certificates)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n++
		if block.Type != "CERTIFICATE" {
			c.Errorf("certificates", "PEM block %d is a %q: expected CERTIFICATE", n, block.Type)
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			c.Errorf("certificates", "certificate %d does not parse: %v", n, err)
		}
	}
	if n == 0 {
		c.Errorf("certificates", "no PEM certificate found: expected one or more \"-----BEGIN CERTIFICATE-----\" blocks")
	} else if strings.TrimSpace(string(rest)) != "" {
		c.Errorf("certificates", "text after certificate %d is not PEM", n)
	}
}

// DocumentKind implements config.Document.
func (m *ManifestsConfig) DocumentKind() string { return KindManifestsConfig }

// DocumentName implements config.Document.
func (m *ManifestsConfig) DocumentName() string { return m.Name }

// Validate checks the manifests.
func (m *ManifestsConfig) Validate(_ validation.Mode, c *validation.Collector) {
	checkDocName(c, m.Name)
	if err := checkManifest(m.Contents); err != nil {
		c.Errorf("contents", "%v", err)
	}
}

func checkDocName(c *validation.Collector, name string) {
	if name == "" {
		c.Errorf("name", "missing: documents of this kind are told apart by name")
	} else if !isDNSName(name) {
		c.Errorf("name", "%q is not a valid name: expected lowercase letters, digits, '-' and '.'", name)
	}
}
