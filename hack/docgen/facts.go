package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// facts are what a doc comment says about a field or a type.
type facts struct {
	// doc is the first paragraph without the fact lines, on one line.
	doc string
	// values are the allowed values ("Values: a, b"), as written.
	values []string
	// def is the default ("Default: x"), as written (YAML).
	def string
	// example is an example value ("Example: x"), as written (YAML).
	example string
}

// factPrefixes are the line prefixes of structured facts.
var factPrefixes = []string{"Values:", "Default:", "Example:"}

// parseFacts splits a doc comment's text into the documentation (its first
// paragraph) and the Values/Default/Example lines, wherever they are.
func parseFacts(text string) (facts, error) {
	var f facts
	var paragraphs [][]string
	var cur []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		prefix, rest, isFact := cutFact(line)
		switch {
		case isFact:
			if err := f.set(prefix, rest); err != nil {
				return facts{}, err
			}
		case line == "":
			if len(cur) > 0 {
				paragraphs = append(paragraphs, cur)
				cur = nil
			}
		default:
			cur = append(cur, line)
		}
	}
	if len(cur) > 0 {
		paragraphs = append(paragraphs, cur)
	}
	if len(paragraphs) > 0 {
		f.doc = strings.Join(paragraphs[0], " ")
	}
	return f, nil
}

// cutFact reports whether line is a fact line, and splits it.
func cutFact(line string) (prefix, rest string, ok bool) {
	for _, p := range factPrefixes {
		if r, found := strings.CutPrefix(line, p); found {
			return p, strings.TrimSpace(r), true
		}
	}
	return "", "", false
}

// set records one fact line; each fact may be given once, not empty.
func (f *facts) set(prefix, value string) error {
	if value == "" {
		return fmt.Errorf("%q line without a value", prefix)
	}
	dup := false
	switch prefix {
	case "Values:":
		dup = f.values != nil
		for _, v := range strings.Split(value, ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				return fmt.Errorf("%q line %q has an empty value", prefix, value)
			}
			f.values = append(f.values, v)
		}
	case "Default:":
		dup, f.def = f.def != "", value
	case "Example:":
		dup, f.example = f.example != "", value
	}
	if dup {
		return fmt.Errorf("%q given twice", prefix)
	}
	return nil
}

// parsedFacts are a field's facts decoded as YAML values of its type, for
// the JSON schema.
type parsedFacts struct {
	values  []any
	def     any // nil when there is no default
	example any // nil when there is no example
}

// check decodes the facts of a field of type t and checks that each value
// is of that type and that the default is one of the allowed values.
func (f facts) check(t *typeRef, m *model) (parsedFacts, error) {
	var p parsedFacts
	for _, v := range f.values {
		val, err := decodeFact("value", v, t, m)
		if err != nil {
			return p, err
		}
		p.values = append(p.values, val)
	}
	var err error
	if f.def != "" {
		if p.def, err = decodeFact("default", f.def, t, m); err != nil {
			return p, err
		}
		if len(f.values) > 0 && !slices.Contains(f.values, f.def) {
			return p, fmt.Errorf("default %q is not one of the values %s", f.def, strings.Join(f.values, ", "))
		}
	}
	if f.example != "" {
		if p.example, err = decodeFact("example", f.example, t, m); err != nil {
			return p, err
		}
	}
	return p, nil
}

// decodeFact parses text as YAML and checks it against t.
func decodeFact(what, text string, t *typeRef, m *model) (any, error) {
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return nil, fmt.Errorf("%s %q is not YAML: %w", what, text, err)
	}
	if err := conforms(v, t, m); err != nil {
		return nil, fmt.Errorf("%s %q: %w", what, text, err)
	}
	return v, nil
}

// conforms checks that v, decoded from YAML, is a value of type t.
func conforms(v any, t *typeRef, m *model) error {
	want := t.display()
	switch t.kind {
	case kindAny:
		return nil
	case kindString:
		if _, ok := v.(string); ok {
			return nil
		}
	case kindInt, kindUint:
		if n, ok := v.(int); ok && (t.kind == kindInt || n >= 0) {
			return nil
		}
	case kindBool:
		if _, ok := v.(bool); ok {
			return nil
		}
	case kindLeaf:
		return leaves[t.name].check(v)
	case kindList:
		if l, ok := v.([]any); ok {
			for i, e := range l {
				if err := conforms(e, t.elem, m); err != nil {
					return fmt.Errorf("item %d: %w", i, err)
				}
			}
			return nil
		}
	case kindMap, kindStruct:
		if mv, ok := v.(map[string]any); ok {
			return conformsMap(mv, t, m)
		}
	}
	return fmt.Errorf("want %s, got %v", want, v)
}

// conformsMap checks the entries of a map or struct value.
func conformsMap(v map[string]any, t *typeRef, m *model) error {
	for _, k := range slices.Sorted(maps.Keys(v)) {
		et := t.elem
		if t.kind == kindStruct {
			mem := m.structs[t.name].member(k)
			if mem == nil {
				return fmt.Errorf("%s has no field %q", t.name, k)
			}
			et = mem.typ
		}
		if err := conforms(v[k], et, m); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}
