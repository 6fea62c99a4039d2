package main

import (
	"fmt"
	"strings"
)

// kind is the shape of a field's type as a user writes it in YAML.
type kind int

const (
	kindString kind = iota
	kindInt
	kindUint
	kindBool
	kindAny    // any YAML value
	kindStruct // a struct of the package: a YAML map with known keys
	kindList   // a slice: a YAML sequence
	kindMap    // a map with string keys
	kindLeaf   // a named type written as a scalar or a fixed map (see leaves)
)

// typeRef is a field's type.
type typeRef struct {
	kind kind
	// name is the struct's name (kindStruct) or the leaf's key (kindLeaf).
	name string
	// elem is the item type of a list or the value type of a map.
	elem *typeRef
}

// display is the type as a user sees it: "string", "list of Interface",
// "map of string to string", "object", ...
func (t *typeRef) display() string {
	switch t.kind {
	case kindString:
		return "string"
	case kindInt, kindUint:
		return "integer"
	case kindBool:
		return "boolean"
	case kindAny:
		return "any"
	case kindStruct:
		return "object"
	case kindLeaf:
		return leaves[t.name].display
	case kindList:
		return "list of " + t.elem.itemName()
	case kindMap:
		return "map of string to " + t.elem.itemName()
	}
	panic(fmt.Sprintf("docgen: unknown kind %d", t.kind))
}

// itemName is how the type reads as the item of a list or map: a struct by
// its name, anything else as displayed.
func (t *typeRef) itemName() string {
	if t.kind == kindStruct {
		return t.name
	}
	return t.display()
}

// structBelow finds the struct reached from t through list items and map
// values, and the path suffix that leads to it: "" for a struct field, "[]"
// for a list of structs, "{}" for a map of structs. ok is false when no
// struct is reached.
func (t *typeRef) structBelow() (name, suffix string, ok bool) {
	for ; t != nil; t = t.elem {
		switch t.kind {
		case kindStruct:
			return t.name, suffix, true
		case kindList:
			suffix += "[]"
		case kindMap:
			suffix += "{}"
		default:
			return "", "", false
		}
	}
	return "", "", false
}

// scalarKinds maps Go's predeclared types to kinds.
var scalarKinds = map[string]kind{
	"string": kindString,
	"bool":   kindBool,
	"any":    kindAny,
	"int":    kindInt, "int8": kindInt, "int16": kindInt, "int32": kindInt, "int64": kindInt,
	"uint": kindUint, "uint8": kindUint, "uint16": kindUint, "uint32": kindUint, "uint64": kindUint,
}

// leaf is a named type that docgen shows as one value rather than a struct
// of fields: its display type, its JSON schema and a check for YAML values.
type leaf struct {
	display string
	schema  map[string]any
	check   func(v any) error
}

// leaves are the named types known to docgen, by the name the config
// package uses for them. Any other named type that is not a struct of the
// package is an error, so that a new one gets a deliberate description.
var leaves = map[string]leaf{
	"pki.CertAndKey": {
		display: "base64 PEM certificate and key",
		schema: map[string]any{
			"type":        "object",
			"description": "A PEM certificate and private key, each the base64 of its PEM text; either may be left out.",
			"properties": map[string]any{
				"crt": map[string]any{"type": "string", "contentEncoding": "base64", "description": "The PEM certificate, base64."},
				"key": map[string]any{"type": "string", "contentEncoding": "base64", "description": "The PEM PKCS#8 private key, base64."},
			},
			"additionalProperties": false,
		},
		check: checkCertAndKey,
	},
	"Base64": {
		display: "base64 string",
		schema:  map[string]any{"type": "string", "contentEncoding": "base64", "description": "Binary data (a PEM key), base64."},
		check:   checkString,
	},
}

// schemaName is the name of a struct's or leaf's definition in the JSON
// schema: its name without the package qualifier.
func (t *typeRef) schemaName() string {
	return t.name[strings.LastIndex(t.name, ".")+1:]
}

func checkString(v any) error {
	if _, ok := v.(string); !ok {
		return fmt.Errorf("want a base64 string, got %v", v)
	}
	return nil
}

func checkCertAndKey(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("want a map with crt and key, got %v", v)
	}
	for k, s := range m {
		if k != "crt" && k != "key" {
			return fmt.Errorf("unknown key %q (want crt or key)", k)
		}
		if err := checkString(s); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}
