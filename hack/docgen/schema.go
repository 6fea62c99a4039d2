package main

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// schemaDialect is the JSON Schema draft the schema is written in.
const schemaDialect = "https://json-schema.org/draft/2020-12/schema"

// schemaRoot is the top of the schema, a struct to keep its keys in a
// readable order (maps below are sorted by encoding/json).
type schemaRoot struct {
	Schema      string         `json:"$schema"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	OneOf       []any          `json:"oneOf"`
	Defs        map[string]any `json:"$defs"`
}

// jsonSchema renders a JSON schema of one document of the machine config:
// one of the document kinds, each a definition with its kind pinned, and a
// definition for every struct and leaf type they use.
func jsonSchema(m *model) ([]byte, error) {
	root := schemaRoot{
		Schema:      schemaDialect,
		Title:       fmt.Sprintf("Plinth machine config document (%s)", m.apiVersion),
		Description: "One YAML document of a Plinth machine config; its kind says which. Generated from the doc comments of pkg/machinery/config/" + m.apiVersion + ".",
		Defs:        map[string]any{},
	}
	for _, k := range m.src.kinds {
		root.OneOf = append(root.OneOf, ref(k))
		if err := m.addDefs(root.Defs, &typeRef{kind: kindStruct, name: k}); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return b.Bytes(), nil
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/$defs/" + name} }

// addDefs adds the definitions of t and of the types it uses to defs.
func (m *model) addDefs(defs map[string]any, t *typeRef) error {
	switch t.kind {
	case kindList, kindMap:
		return m.addDefs(defs, t.elem)
	case kindLeaf, kindStruct:
	default:
		return nil
	}
	name := t.schemaName()
	if _, done := defs[name]; done {
		if m.defOwner(name) != t.name {
			return fmt.Errorf("schema: two types are named %s", name)
		}
		return nil
	}
	if t.kind == kindLeaf {
		defs[name] = leaves[t.name].schema
		return nil
	}
	s := m.structs[t.name]
	defs[name] = structSchema(s)
	for _, mem := range s.members {
		if err := m.addDefs(defs, mem.typ); err != nil {
			return err
		}
	}
	return nil
}

// defOwner is the type (struct or leaf) whose definition is called name.
func (m *model) defOwner(name string) string {
	if _, ok := m.structs[name]; ok {
		return name
	}
	for l := range leaves {
		if (&typeRef{kind: kindLeaf, name: l}).schemaName() == name {
			return l
		}
	}
	return ""
}

// structSchema is the definition of a struct: an object of its members and
// nothing else.
func structSchema(s *structInfo) map[string]any {
	props := map[string]any{}
	for _, mem := range s.members {
		props[mem.name] = memberSchema(mem)
	}
	d := map[string]any{
		"type":                 "object",
		"description":          s.facts.doc,
		"properties":           props,
		"additionalProperties": false,
	}
	if s.document {
		d["required"] = []string{"apiVersion", "kind"}
	}
	return d
}

// memberSchema is the schema of one field with its facts.
func memberSchema(mem *member) map[string]any {
	s := typeSchema(mem.typ)
	s["description"] = mem.facts.doc
	switch len(mem.parsed.values) {
	case 0:
	case 1:
		s["const"] = mem.parsed.values[0]
	default:
		s["enum"] = mem.parsed.values
	}
	if mem.parsed.def != nil {
		s["default"] = mem.parsed.def
	}
	if mem.parsed.example != nil {
		s["examples"] = []any{mem.parsed.example}
	}
	return s
}

// typeSchema is the schema of a type, without facts.
func typeSchema(t *typeRef) map[string]any {
	switch t.kind {
	case kindString:
		return map[string]any{"type": "string"}
	case kindInt:
		return map[string]any{"type": "integer"}
	case kindUint:
		return map[string]any{"type": "integer", "minimum": 0}
	case kindBool:
		return map[string]any{"type": "boolean"}
	case kindList:
		return map[string]any{"type": "array", "items": typeSchema(t.elem)}
	case kindMap:
		if t.elem.kind == kindAny {
			return map[string]any{"type": "object"}
		}
		return map[string]any{"type": "object", "additionalProperties": typeSchema(t.elem)}
	case kindStruct, kindLeaf:
		return ref(t.schemaName())
	}
	return map[string]any{} // kindAny
}
