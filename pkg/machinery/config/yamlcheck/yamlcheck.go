// Package yamlcheck checks a YAML node tree against a Go type before it is
// decoded: it reports every unknown field and every value of the wrong type
// with its field path and line, and records where each field path was
// written so that later semantic checks can point at the line too.
//
// go.yaml.in/yaml/v3 stops at the first strict-decoding error and names
// neither the document nor the field path; this walker collects them all.
package yamlcheck

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
)

// Positions maps field paths ("machine.network.interfaces[0].mtu") to where
// they were written. It implements validation.Locator.
type Positions map[string]validation.Position

// Locate returns the position of path, or of its deepest written ancestor.
func (p Positions) Locate(path string) validation.Position {
	for path != "" {
		if pos, ok := p[path]; ok {
			return pos
		}
		path = parent(path)
	}
	return p[""]
}

// parent strips the last segment of a field path.
func parent(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndex(path, "["); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[:i]
	}
	return ""
}

// Problem is a structural problem found by Check (the caller adds the document).
type Problem struct {
	Path     string
	Position validation.Position
	Message  string
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// Check walks node (a document's root mapping) against type t and returns
// the positions of every field path and the structural problems found.
func Check(node *yaml.Node, t reflect.Type) (Positions, []Problem) {
	w := &walker{pos: Positions{}}
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	w.walk(node, t, "")
	return w.pos, w.problems
}

type walker struct {
	pos      Positions
	problems []Problem
	// depth and visits bound the walk: aliases can make a document a cycle
	// or expand it exponentially.
	depth, visits int
	tooBig        bool
}

// Limits of a walk; real configs are far below them.
const (
	maxDepth  = 64
	maxVisits = 200000
)

func (w *walker) addf(path string, n *yaml.Node, format string, args ...any) {
	w.problems = append(w.problems, Problem{
		Path:     path,
		Position: validation.Position{Line: n.Line, Column: n.Column},
		Message:  fmt.Sprintf(format, args...),
	})
}

func (w *walker) mark(path string, n *yaml.Node) {
	if _, ok := w.pos[path]; !ok {
		w.pos[path] = validation.Position{Line: n.Line, Column: n.Column}
	}
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	w.visits++
	if w.depth >= maxDepth || w.visits > maxVisits {
		if !w.tooBig {
			w.tooBig = true
			w.addf(path, n, "document nests or expands aliases too deeply (at most %d levels, %d values)", maxDepth, maxVisits)
		}
		return
	}
	w.depth++
	defer func() { w.depth-- }()
	w.mark(path, n)
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if isLeafType(t) {
		w.tryDecode(n, t, path)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(n, t.Elem(), path)
	case reflect.Struct:
		w.walkStruct(n, t, path)
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			w.addf(path, n, "expected a list, got %s", describe(n))
			return
		}
		for i, item := range n.Content {
			w.walk(item, t.Elem(), validation.Index(path, i))
		}
	case reflect.Map:
		w.walkMap(n, t, path)
	case reflect.Interface:
		// Free-form value (e.g. kubelet extraConfig): anything goes.
	default:
		w.tryDecode(n, t, path)
	}
}

func (w *walker) walkStruct(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		w.addf(path, n, "expected a map with fields %s, got %s", strings.Join(fieldNames(t), ", "), describe(n))
		return
	}
	fields := structFields(t)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		child := validation.Join(path, name)
		if seen[name] {
			w.addf(child, k, "field %q is given twice", name)
			continue
		}
		seen[name] = true
		ft, ok := fields[name]
		if !ok {
			w.addf(child, k, "unknown field %q: expected one of %s", name, strings.Join(fieldNames(t), ", "))
			continue
		}
		w.mark(child, k)
		w.walk(v, ft, child)
	}
}

func (w *walker) walkMap(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		w.addf(path, n, "expected a map, got %s", describe(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		child := validation.Key(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			w.addf(path, k, "expected a scalar map key, got %s", describe(k))
			continue
		}
		w.mark(child, k)
		w.walk(v, t.Elem(), child)
	}
}

// tryDecode decodes n into a fresh value of type t and reports a failure
// in words a user understands.
func (w *walker) tryDecode(n *yaml.Node, t reflect.Type, path string) {
	if !isLeafType(t) && n.Kind != yaml.ScalarNode {
		w.addf(path, n, "expected %s, got %s", typeWords(t), describe(n))
		return
	}
	v := reflect.New(t)
	if err := n.Decode(v.Interface()); err != nil {
		if isLeafType(t) {
			w.addf(path, n, "%s", cleanYAMLError(err))
			return
		}
		w.addf(path, n, "expected %s, got %s", typeWords(t), describe(n))
	}
}

// isLeafType reports whether t decodes itself (custom YAML or text unmarshalling).
func isLeafType(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType)
}

// structFields maps YAML names to field types, following inline structs.
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range structFields(ft) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func fieldNames(t reflect.Type) []string {
	fs := structFields(t)
	names := make([]string, 0, len(fs))
	for k := range fs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// describe says what a node is, for "got ..." messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// typeWords names a Go type the way a config author thinks of it.
func typeWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return t.String()
}

// cleanYAMLError strips the "yaml: unmarshal errors:\n  line N:" prefix;
// the caller adds the position itself.
func cleanYAMLError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	if strings.HasPrefix(msg, "line ") {
		if i := strings.Index(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
	}
	return strings.TrimPrefix(msg, "yaml: ")
}
