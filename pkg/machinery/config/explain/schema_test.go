package explain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/plinth-os/plinth/pkg/machinery/config"
)

// schemaPath is the generated JSON schema, from this directory.
const schemaPath = "../../../../docs/reference/config.schema.json"

// loadSchema reads the generated schema; it must be valid JSON.
func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s is not valid JSON: %v", schemaPath, err)
	}
	return s
}

func TestSchemaShape(t *testing.T) {
	s := loadSchema(t)
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", s["$schema"])
	}
	var refs []string
	for _, r := range s["oneOf"].([]any) {
		refs = append(refs, r.(map[string]any)["$ref"].(string))
	}
	if want := []string{"#/$defs/MachineConfig", "#/$defs/TrustedRootsConfig", "#/$defs/ManifestsConfig"}; !slices.Equal(refs, want) {
		t.Errorf("oneOf = %q, want %q", refs, want)
	}
	defs := s["$defs"].(map[string]any)
	eachSchema(s, func(n map[string]any) {
		if ref, ok := n["$ref"].(string); ok {
			if _, found := defs[strings.TrimPrefix(ref, "#/$defs/")]; !found || !strings.HasPrefix(ref, "#/$defs/") {
				t.Errorf("$ref %s does not resolve", ref)
			}
		}
		if _, ok := n["properties"]; ok && n["additionalProperties"] != false {
			t.Errorf("object %v allows additional properties", n["description"])
		}
	})
}

// eachSchema calls fn on every object below n.
func eachSchema(n any, fn func(map[string]any)) {
	switch v := n.(type) {
	case map[string]any:
		fn(v)
		for _, c := range v {
			eachSchema(c, fn)
		}
	case []any:
		for _, c := range v {
			eachSchema(c, fn)
		}
	}
}

// TestSchemaMatchesReference checks that every field of the generated
// reference is in the schema with the same description, values and
// default, and that objects have no other properties.
func TestSchemaMatchesReference(t *testing.T) {
	defs := loadSchema(t)["$defs"].(map[string]any)
	resolve := func(n map[string]any) map[string]any {
		for {
			if ref, ok := n["$ref"].(string); ok {
				n = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			} else if items, ok := n["items"].(map[string]any); ok {
				n = items
			} else if vals, ok := n["additionalProperties"].(map[string]any); ok {
				n = vals
			} else {
				return n
			}
		}
	}
	var check func(obj map[string]any, parent *Field)
	check = func(obj map[string]any, parent *Field) {
		props, _ := obj["properties"].(map[string]any)
		if len(props) != len(parent.Fields) {
			t.Errorf("%s: %d properties in the schema, %d fields", parent.Path, len(props), len(parent.Fields))
		}
		for _, f := range parent.Fields {
			p, ok := props[f.Name].(map[string]any)
			if !ok {
				t.Errorf("%s: not in the schema", f.Path)
				continue
			}
			if p["description"] != f.Doc {
				t.Errorf("%s: schema description %q, reference %q", f.Path, p["description"], f.Doc)
			}
			if got := schemaValues(p); !slices.Equal(got, f.Values) {
				t.Errorf("%s: schema values %q, reference %q", f.Path, got, f.Values)
			}
			if _, has := p["default"]; has != (f.Default != "") {
				t.Errorf("%s: schema default %v, reference %q", f.Path, p["default"], f.Default)
			}
			if len(f.Fields) > 0 {
				check(resolve(p), f)
			}
		}
	}
	for _, d := range documents {
		check(defs[d.Name].(map[string]any), d)
	}
}

// schemaValues are a property's const or enum as strings.
func schemaValues(p map[string]any) []string {
	var out []string
	if c, ok := p["const"]; ok {
		out = append(out, fmt.Sprint(c))
	}
	for _, e := range asSlice(p["enum"]) {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// TestSchemaAcceptsConfig validates a config that the strict loader accepts
// and that uses every kind of field.
func TestSchemaAcceptsConfig(t *testing.T) {
	data, err := os.ReadFile("testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(data); err != nil {
		t.Fatalf("the loader rejects testdata/config.yaml: %v", err)
	}
	v := newValidator(loadSchema(t))
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var doc any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if errs := v.validate(doc); len(errs) > 0 {
			t.Errorf("document %d: %s", i, strings.Join(errs, "; "))
		}
	}
}

func TestSchemaRejects(t *testing.T) {
	v := newValidator(loadSchema(t))
	tests := []struct{ name, doc, want string }{
		{"unknown field", "machine: {typo: 1}", "/machine: unknown property typo"},
		{"bad enum", "machine: {type: server}", "/machine/type: server is not one of [controlplane worker]"},
		{"wrong type", "machine: {network: {interfaces: [{mtu: big}]}}", "/machine/network/interfaces/0/mtu: want integer"},
		{"negative uint", "machine: {network: {interfaces: [{routes: [{metric: -1}]}]}}", "/machine/network/interfaces/0/routes/0/metric: -1 is below 0"},
		{"cert and key", "machine: {ca: {pem: x}}", "/machine/ca: unknown property pem"},
		{"map of structs", "machine: {registries: {mirrors: {docker.io: {endpoints: x}}}}", "/machine/registries/mirrors/docker.io/endpoints: want array"},
		{"map of strings", "machine: {sysctls: {a: [1]}}", "/machine/sysctls/a: want string"},
		{"wrong apiVersion", "apiVersion: v1", "/apiVersion: v1 is not v1alpha1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(tt.doc), &doc); err != nil {
				t.Fatal(err)
			}
			doc["kind"] = "MachineConfig"
			if _, ok := doc["apiVersion"]; !ok {
				doc["apiVersion"] = "v1alpha1"
			}
			errs := v.check(v.defs["MachineConfig"].(map[string]any), doc, "")
			if !slices.Contains(errs, tt.want) {
				t.Errorf("errors %q, want %q", errs, tt.want)
			}
			if len(v.validate(doc)) == 0 {
				t.Error("the schema accepts it")
			}
		})
	}
	for _, doc := range []string{
		"apiVersion: v1alpha1\nkind: Unknown\n",
		"apiVersion: v1alpha1\nname: x\ncertificates: y\n",
		"apiVersion: v1alpha1\nkind: TrustedRootsConfig\nname: x\ncontents: y\n",
	} {
		var d any
		if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
			t.Fatal(err)
		}
		if errs := v.validate(d); len(errs) == 0 {
			t.Errorf("the schema accepts %q", doc)
		}
	}
}
