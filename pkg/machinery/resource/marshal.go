package resource

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// envelope is the wire shape of a resource in both encodings.
type envelope struct {
	Metadata *Metadata `json:"metadata"`
	Spec     any       `json:"spec"`
}

type rawEnvelope struct {
	Metadata *Metadata       `json:"metadata"`
	Spec     json.RawMessage `json:"spec"`
}

// MarshalJSON encodes r as {"metadata": ..., "spec": ...}. The spec is
// encoded with encoding/json, so spec types describe their fields with json
// tags.
func MarshalJSON(r Resource) ([]byte, error) {
	out, err := json.Marshal(envelope{Metadata: r.Metadata(), Spec: r.Spec()})
	if err != nil {
		return nil, fmt.Errorf("marshal %s to json: %w", r.Metadata().Ref(), err)
	}

	return out, nil
}

// MarshalYAML encodes r as a YAML mapping with metadata and spec keys. The
// YAML is derived from the JSON encoding (same field names, same order), so
// both outputs always agree; strings that would read as another type are
// quoted and multi-line strings use the literal block style.
func MarshalYAML(r Resource) ([]byte, error) {
	raw, err := MarshalJSON(r)
	if err != nil {
		return nil, err
	}

	out, err := jsonToYAML(raw)
	if err != nil {
		return nil, fmt.Errorf("marshal %s to yaml: %w", r.Metadata().Ref(), err)
	}

	return out, nil
}

// UnmarshalJSON decodes a resource encoded by MarshalJSON.
func UnmarshalJSON(data []byte) (*Unstructured, error) {
	var env rawEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("unmarshal resource from json: %w", err)
	}

	if env.Metadata == nil {
		return nil, fmt.Errorf("unmarshal resource from json: metadata is missing")
	}

	if err := env.Metadata.Validate(); err != nil {
		return nil, fmt.Errorf("unmarshal resource from json: %w", err)
	}

	// Empty and absent collections mean the same; keep one form.
	if len(env.Metadata.Labels) == 0 {
		env.Metadata.Labels = nil
	}

	if len(env.Metadata.Finalizers) == 0 {
		env.Metadata.Finalizers = nil
	}

	spec, err := decodeGeneric(env.Spec)
	if err != nil {
		return nil, fmt.Errorf("unmarshal spec of %s from json: %w", env.Metadata.Ref(), err)
	}

	return NewUnstructured(*env.Metadata, spec), nil
}

// UnmarshalYAML decodes a resource encoded by MarshalYAML.
func UnmarshalYAML(data []byte) (*Unstructured, error) {
	var tree any
	if err := yaml.Unmarshal(data, &tree); err != nil {
		return nil, fmt.Errorf("unmarshal resource from yaml: %w", err)
	}

	raw, err := json.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("unmarshal resource from yaml: %w", err)
	}

	return UnmarshalJSON(raw)
}

// jsonToYAML re-encodes a JSON document as block-style YAML, keeping the key
// order. JSON is YAML, so the parser reads it as is; clearing the flow and
// quoting styles lets the encoder choose the block layout.
func jsonToYAML(raw []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}

	clearStyle(&doc)

	var buf bytes.Buffer

	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)

	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}

	if err := enc.Close(); err != nil {
		return nil, err
	}

	return buf.Bytes(), nil
}

func clearStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		clearStyle(c)
	}
}
