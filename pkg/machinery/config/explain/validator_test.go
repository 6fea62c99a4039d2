package explain

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// validator checks YAML-decoded values against the keywords of JSON Schema
// 2020-12 that the generated schema uses: $ref into $defs, oneOf, type,
// const, enum, minimum, properties, additionalProperties, required, items.
// It stands in for a full validator, which the module does not depend on.
type validator struct {
	root map[string]any
	defs map[string]any
}

func newValidator(schema map[string]any) *validator {
	return &validator{root: schema, defs: schema["$defs"].(map[string]any)}
}

// validate checks a whole document against the schema's root.
func (v *validator) validate(doc any) []string { return v.check(v.root, doc, "") }

// check returns one "path: problem" per failed keyword.
func (v *validator) check(s map[string]any, val any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) {
		errs = append(errs, path+": "+fmt.Sprintf(format, args...))
	}
	if ref, ok := s["$ref"].(string); ok {
		errs = append(errs, v.check(v.defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any), val, path)...)
	}
	if alts, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, a := range alts {
			if len(v.check(a.(map[string]any), val, path)) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of oneOf", n)
		}
	}
	if typ, ok := s["type"].(string); ok && jsonType(val) != typ {
		fail("want %s", typ)
		return errs
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(val) {
		fail("%v is not %v", val, c)
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(val) }) {
		fail("%v is not one of %v", val, enum)
	}
	if m, ok := s["minimum"].(float64); ok {
		if n, isInt := val.(int); isInt && float64(n) < m {
			fail("%v is below %v", val, m)
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		for i, item := range val.([]any) {
			errs = append(errs, v.check(items, item, fmt.Sprintf("%s/%d", path, i))...)
		}
	}
	if obj, ok := val.(map[string]any); ok {
		errs = append(errs, v.checkObject(s, obj, path)...)
	}
	return errs
}

// checkObject applies properties, additionalProperties and required.
func (v *validator) checkObject(s map[string]any, obj map[string]any, path string) []string {
	var errs []string
	props, _ := s["properties"].(map[string]any)
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if p, ok := props[k].(map[string]any); ok {
			errs = append(errs, v.check(p, obj[k], path+"/"+k)...)
			continue
		}
		switch extra := s["additionalProperties"].(type) {
		case bool:
			if !extra {
				errs = append(errs, fmt.Sprintf("%s: unknown property %s", path, k))
			}
		case map[string]any:
			errs = append(errs, v.check(extra, obj[k], path+"/"+k)...)
		}
	}
	for _, r := range asSlice(s["required"]) {
		if _, ok := obj[r.(string)]; !ok {
			errs = append(errs, fmt.Sprintf("%s: missing %s", path, r))
		}
	}
	return errs
}

// jsonType is the JSON Schema type of a YAML-decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case int, int64, uint64:
		return "integer"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
