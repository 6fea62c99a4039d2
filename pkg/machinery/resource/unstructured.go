package resource

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Unstructured is a resource whose spec is kept as a generic JSON-like tree:
// map[string]any, []any, string, bool, json.Number and nil. Clients that
// receive resources over the API without knowing their Go types decode them
// into Unstructured (see UnmarshalJSON and UnmarshalYAML), print them, or
// decode the spec into a Go type with DecodeSpec.
type Unstructured struct {
	md   Metadata
	spec any
}

// NewUnstructured returns a resource with the given metadata and generic
// spec. The spec must be a JSON-like tree as described on Unstructured.
func NewUnstructured(md Metadata, spec any) *Unstructured {
	return &Unstructured{md: md, spec: spec}
}

// Metadata returns a pointer to the resource's metadata.
func (u *Unstructured) Metadata() *Metadata {
	return &u.md
}

// Spec returns the generic spec tree.
func (u *Unstructured) Spec() any {
	return u.spec
}

// DeepCopy returns an independent copy of the resource.
func (u *Unstructured) DeepCopy() Resource {
	return &Unstructured{md: u.md.Clone(), spec: deepCopy(u.spec)}
}

// DecodeSpec decodes the spec into v, a pointer to a spec type with json
// tags, as if the spec had been received as JSON.
func (u *Unstructured) DecodeSpec(v any) error {
	raw, err := json.Marshal(u.spec)
	if err != nil {
		return fmt.Errorf("decode spec of %s: %w", u.md.Ref(), err)
	}

	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode spec of %s: %w", u.md.Ref(), err)
	}

	return nil
}

// decodeGeneric decodes JSON into a generic tree, keeping numbers exact.
func decodeGeneric(raw []byte) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}

	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()

	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}

	return v, nil
}
