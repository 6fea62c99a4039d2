package v1alpha1

import (
	"encoding/base64"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Base64 is binary data (a PEM key) written in YAML as a base64 string.
type Base64 []byte

// MarshalYAML implements yaml.Marshaler.
func (b Base64) MarshalYAML() (any, error) {
	return base64.StdEncoding.EncodeToString(b), nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *Base64) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a base64 string, got a %s", map[yaml.Kind]string{yaml.MappingNode: "map", yaml.SequenceNode: "list"}[n.Kind])
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.Value), ""))
	if err != nil {
		return fmt.Errorf("expected a base64 string: %v", err)
	}
	*b = raw
	return nil
}
