package pki

import (
	"encoding/base64"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// CertAndKey holds a PEM-encoded certificate and private key. Key may be
// empty (workers get CA certificates without keys), and so may Crt (a bare
// key such as the Kubernetes service-account key).
//
// In YAML both are base64 strings of the PEM text, in the form Kubernetes
// users know from kubeconfig files; in JSON []byte is base64 already.
type CertAndKey struct {
	// Crt is the PEM certificate.
	Crt []byte `yaml:"crt,omitempty" json:"crt,omitempty"`
	// Key is the PEM PKCS#8 private key, if any.
	Key []byte `yaml:"key,omitempty" json:"key,omitempty"`
}

// Validate checks that Crt, if present, is a certificate, that Key, if
// present, is a private key, and that with both present they match.
func (c *CertAndKey) Validate() error {
	switch {
	case len(c.Crt) == 0 && len(c.Key) == 0:
		return fmt.Errorf("neither certificate nor key is set")
	case len(c.Key) == 0:
		_, err := ParseCertPEM(c.Crt)
		return err
	case len(c.Crt) == 0:
		_, err := ParseKeyPEM(c.Key)
		return err
	default:
		return KeyMatchesCert(c.Crt, c.Key)
	}
}

// certAndKeyYAML is the YAML form of CertAndKey.
type certAndKeyYAML struct {
	Crt string `yaml:"crt,omitempty"`
	Key string `yaml:"key,omitempty"`
}

// MarshalYAML encodes Crt and Key as base64 strings.
func (c CertAndKey) MarshalYAML() (any, error) {
	return certAndKeyYAML{
		Crt: base64.StdEncoding.EncodeToString(c.Crt),
		Key: base64.StdEncoding.EncodeToString(c.Key),
	}, nil
}

// UnmarshalYAML decodes the base64 strings written by MarshalYAML. It is
// strict on its own, whatever the decoder's settings: an unknown or repeated
// field, or a value that is not base64, is an error naming its line.
func (c *CertAndKey) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping with crt and key, got %s", node.Line, kindName(node.Kind))
	}
	var out CertAndKey
	seen := map[string]bool{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		var dst *[]byte
		switch k.Value {
		case "crt":
			dst = &out.Crt
		case "key":
			dst = &out.Key
		default:
			return fmt.Errorf("line %d: unknown field %q (want crt or key)", k.Line, k.Value)
		}
		if seen[k.Value] {
			return fmt.Errorf("line %d: field %q repeated", k.Line, k.Value)
		}
		seen[k.Value] = true
		b, err := decodeBase64Node(v)
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", v.Line, k.Value, err)
		}
		*dst = b
	}
	*c = out
	return nil
}

// decodeBase64Node decodes a scalar holding base64 text.
func decodeBase64Node(v *yaml.Node) ([]byte, error) {
	if v.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("want a base64 string, got %s", kindName(v.Kind))
	}
	switch v.Tag {
	case "!!null":
		return nil, nil
	case "!!str", "!!int": // base64 text may be all digits
	default:
		return nil, fmt.Errorf("want a base64 string, got %q", v.Value)
	}
	b, err := base64.StdEncoding.DecodeString(v.Value)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// kindName names a YAML node kind in errors.
func kindName(k yaml.Kind) string {
	switch k {
	case yaml.ScalarNode:
		return "a scalar"
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	default:
		return "a document"
	}
}
