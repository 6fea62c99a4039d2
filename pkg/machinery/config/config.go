// Package config loads, validates and encodes Plinth machine configs.
//
// A machine config is a stream of YAML documents. Every document has an
// apiVersion and a kind; exactly one is the MachineConfig, the others are
// smaller kinds (TrustedRootsConfig, ManifestsConfig) that some kinds allow
// several times, told apart by name. Loading is strict: unknown kinds, unknown
// fields and values of the wrong type are errors, all of them reported at
// once with the document, the field path and the YAML line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/config/yamlcheck"
)

// Document is one document of a machine config.
type Document interface {
	// DocumentKind is the document's kind, e.g. "MachineConfig".
	DocumentKind() string
	// DocumentName tells documents of the same kind apart ("" for singletons).
	DocumentName() string
	// Validate records the document's semantic problems for the given mode.
	Validate(mode validation.Mode, c *validation.Collector)
}

// kindInfo describes a registered document kind.
type kindInfo struct {
	apiVersion string
	new        func() Document
	// multiple is true when several documents of the kind may be given.
	multiple bool
}

// kinds are the document kinds Plinth knows.
var kinds = map[string]kindInfo{
	v1alpha1.KindMachineConfig:      {v1alpha1.APIVersion, func() Document { return &v1alpha1.MachineConfig{} }, false},
	v1alpha1.KindTrustedRootsConfig: {v1alpha1.APIVersion, func() Document { return &v1alpha1.TrustedRootsConfig{} }, true},
	v1alpha1.KindManifestsConfig:    {v1alpha1.APIVersion, func() Document { return &v1alpha1.ManifestsConfig{} }, true},
}

// Kinds lists the known document kinds.
func Kinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

// entry is a loaded document with where it came from.
type entry struct {
	doc       Document
	positions yamlcheck.Positions
}

// Config is a loaded machine config.
type Config struct {
	entries []entry
}

// New builds a config from documents made in code (no positions).
func New(docs ...Document) *Config {
	c := &Config{}
	for _, d := range docs {
		c.entries = append(c.entries, entry{doc: d})
	}
	return c
}

// LoadFile reads and loads a config file.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Load(data)
}

// Load parses a multi-document config strictly. Structural problems (YAML
// syntax, unknown kinds and fields, wrong types) are returned together as
// validation.Problems. Semantic checks are done by Validate.
func Load(data []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	c := &Config{}
	var problems validation.Problems
	for i := 1; ; i++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			problems = append(problems, syntaxProblem(i, err))
			break
		}
		if len(node.Content) == 0 || node.Content[0].Tag == "!!null" {
			continue // an empty document, e.g. a trailing "---"
		}
		e, ps := loadDocument(i, &node)
		problems = append(problems, ps...)
		if e != nil {
			c.entries = append(c.entries, *e)
		}
	}
	if len(problems) == 0 {
		problems = c.checkDocumentSet()
	}
	if len(problems) > 0 {
		problems.Sort()
		return nil, problems
	}
	return c, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

func syntaxProblem(doc int, err error) validation.Problem {
	msg := err.Error()
	p := validation.Problem{Document: fmt.Sprintf("document %d", doc), Message: "invalid YAML: " + msg}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		p.Position.Line, _ = strconv.Atoi(m[1])
		p.Message = "invalid YAML: " + msg[len(m[0]):]
	}
	return p
}

// loadDocument decodes one document after checking it against its kind's type.
func loadDocument(index int, node *yaml.Node) (*entry, validation.Problems) {
	root := node.Content[0]
	where := fmt.Sprintf("document %d", index)
	at := validation.Position{Line: root.Line, Column: root.Column}
	if root.Kind != yaml.MappingNode {
		return nil, validation.Problems{{Document: where, Position: at, Message: "expected a map with apiVersion and kind"}}
	}
	apiVersion, kind := field(root, "apiVersion"), field(root, "kind")
	var ps validation.Problems
	if kind == "" {
		ps = append(ps, validation.Problem{Document: where, Position: at, Path: "kind",
			Message: fmt.Sprintf("missing: every document needs a kind, one of %v", Kinds())})
	}
	info, known := kinds[kind]
	switch {
	case kind != "" && !known:
		ps = append(ps, validation.Problem{Document: where, Position: at, Path: "kind",
			Message: fmt.Sprintf("unknown kind %q: expected one of %v", kind, Kinds())})
	case apiVersion == "":
		ps = append(ps, validation.Problem{Document: where, Position: at, Path: "apiVersion",
			Message: fmt.Sprintf("missing: expected %q", info.apiVersion)})
	case known && apiVersion != info.apiVersion:
		ps = append(ps, validation.Problem{Document: where, Position: at, Path: "apiVersion",
			Message: fmt.Sprintf("%q is not served for kind %s: expected %q", apiVersion, kind, info.apiVersion)})
	}
	if len(ps) > 0 {
		return nil, ps
	}
	doc := info.new()
	positions, structural := yamlcheck.Check(root, reflect.TypeOf(doc).Elem())
	where = kind
	if name := field(root, "name"); name != "" {
		where += " " + name
	}
	for _, sp := range structural {
		ps = append(ps, validation.Problem{Document: where, Path: sp.Path, Position: sp.Position, Message: sp.Message})
	}
	if len(ps) > 0 {
		return nil, ps
	}
	if err := root.Decode(doc); err != nil {
		return nil, validation.Problems{{Document: where, Position: at, Message: err.Error()}}
	}
	return &entry{doc: doc, positions: positions}, nil
}

// field returns the scalar value of a top-level key of a mapping node.
func field(m *yaml.Node, key string) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.ScalarNode {
			return m.Content[i+1].Value
		}
	}
	return ""
}

// checkDocumentSet checks rules across documents: one MachineConfig, unique
// names, no repeated singletons.
func (c *Config) checkDocumentSet() validation.Problems {
	var ps validation.Problems
	seen := map[string]bool{}
	for _, e := range c.entries {
		kind, name := e.doc.DocumentKind(), e.doc.DocumentName()
		key := kind + "/" + name
		if seen[key] {
			msg := fmt.Sprintf("a second %s document: expected at most one", kind)
			if kinds[kind].multiple {
				msg = fmt.Sprintf("a second %s named %q: expected unique names", kind, name)
			}
			ps = append(ps, validation.Problem{Document: describe(e.doc), Position: e.positions.Locate(""), Message: msg})
		}
		seen[key] = true
	}
	if !seen[v1alpha1.KindMachineConfig+"/"] {
		ps = append(ps, validation.Problem{Document: "config", Message: "no MachineConfig document: expected exactly one (apiVersion: v1alpha1, kind: MachineConfig)"})
	}
	return ps
}

func describe(d Document) string {
	if n := d.DocumentName(); n != "" {
		return d.DocumentKind() + " " + n
	}
	return d.DocumentKind()
}

// Validate runs the semantic checks of every document for mode. It returns
// the warnings, and the errors as a validation.Problems error (nil when none).
func (c *Config) Validate(mode validation.Mode) (warnings validation.Problems, err error) {
	var errs validation.Problems
	for _, e := range c.entries {
		col := validation.NewCollector(describe(e.doc), e.positions)
		e.doc.Validate(mode, col)
		errs = append(errs, col.Errors()...)
		warnings = append(warnings, col.Warnings()...)
	}
	errs.Sort()
	warnings.Sort()
	if len(errs) > 0 {
		return warnings, errs
	}
	return warnings, nil
}

// Documents returns the documents in order.
func (c *Config) Documents() []Document {
	out := make([]Document, len(c.entries))
	for i, e := range c.entries {
		out[i] = e.doc
	}
	return out
}

// Machine returns the MachineConfig document (nil if the config has none,
// which Load refuses).
func (c *Config) Machine() *v1alpha1.MachineConfig {
	for _, e := range c.entries {
		if m, ok := e.doc.(*v1alpha1.MachineConfig); ok {
			return m
		}
	}
	return nil
}

// Bytes encodes the config as multi-document YAML.
func (c *Config) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, e := range c.entries {
		if err := enc.Encode(e.doc); err != nil {
			return nil, fmt.Errorf("encode %s: %w", describe(e.doc), err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

// MergeKeys are the lists of each kind that strategic-merge patches merge by
// key instead of replacing (see package patch).
var MergeKeys = map[string]map[string]string{
	v1alpha1.KindMachineConfig: {
		"machine.network.interfaces":          "interface",
		"machine.network.interfaces[].routes": "network",
		"machine.network.extraHostEntries":    "ip",
		"machine.files":                       "path",
		"machine.kernel.modules":              "name",
		"cluster.inlineManifests":             "name",
	},
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
