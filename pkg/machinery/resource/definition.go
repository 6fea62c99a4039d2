package resource

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// MetaNamespace holds resources that describe the resource model itself.
const MetaNamespace = "meta"

// DefinitionType is the type of the resources that publish definitions, so
// that "plinthctl get rd" lists what exists like any other type.
const DefinitionType = "ResourceDefinitions.meta.plinth.dev"

// ErrUnknownType is returned by Registry.Lookup for a name no definition has.
var ErrUnknownType = errors.New("unknown resource type")

// Column is one column "plinthctl get" prints for a type, besides the
// standard ones (namespace, type, id, version). JSONPath addresses the JSON
// form of the resource, e.g. "{.spec.hostname}"; it supports ".field" and
// "[index]" steps.
type Column struct {
	Name     string `json:"name"`
	JSONPath string `json:"jsonPath"`
}

// Definition describes a resource type to clients.
type Definition struct {
	// Type is the full type name, "Plural.group.domain" by convention,
	// e.g. "Members.cluster.plinth.dev".
	Type string `json:"type"`
	// DefaultNamespace is where the type lives unless told otherwise.
	DefaultNamespace string `json:"defaultNamespace"`
	// Aliases are other names clients accept, e.g. short names like "rd".
	Aliases []string `json:"aliases,omitempty"`
	// PrintColumns are the type-specific columns of table output.
	PrintColumns []Column `json:"printColumns,omitempty"`
	// Sensitive types hold secrets: the API serves them to os:admin only.
	Sensitive bool `json:"sensitive,omitempty"`
}

// MetaDefinition is the definition of definitions (alias "rd").
var MetaDefinition = Definition{
	Type:             DefinitionType,
	DefaultNamespace: MetaNamespace,
	Aliases:          []string{"rd", "resourcedefinition"},
	PrintColumns: []Column{
		{Name: "Aliases", JSONPath: "{.spec.aliases}"},
	},
}

// Validate checks that the definition is complete and its paths parse.
func (d Definition) Validate() error {
	if d.Type == "" || strings.ContainsAny(d.Type, " /") {
		return fmt.Errorf("definition %q: invalid type name", d.Type)
	}

	if d.DefaultNamespace == "" {
		return fmt.Errorf("definition %s: default namespace is empty", d.Type)
	}

	for _, c := range d.PrintColumns {
		if c.Name == "" {
			return fmt.Errorf("definition %s: column with empty name", d.Type)
		}

		if _, err := parsePath(c.JSONPath); err != nil {
			return fmt.Errorf("definition %s: column %s: %w", d.Type, c.Name, err)
		}
	}

	return nil
}

// Names returns every lowercase name the type answers to: the full type, the
// type's first dotted segment and the aliases.
func (d Definition) Names() []string {
	names := []string{strings.ToLower(d.Type)}
	if short, _, ok := strings.Cut(d.Type, "."); ok {
		names = append(names, strings.ToLower(short))
	}

	for _, a := range d.Aliases {
		names = append(names, strings.ToLower(a))
	}

	return names
}

// Matches reports whether name designates this type, ignoring case and
// singular/plural differences ("member", "Members", "members.cluster...").
func (d Definition) Matches(name string) bool {
	name = strings.ToLower(name)
	for _, n := range d.Names() {
		if sameNoun(n, name) {
			return true
		}
	}

	return false
}

// Row returns the cells of the definition's print columns for r.
func (d Definition) Row(r Resource) ([]string, error) {
	doc, err := genericForm(r)
	if err != nil {
		return nil, err
	}

	row := make([]string, len(d.PrintColumns))
	for i, c := range d.PrintColumns {
		steps, err := parsePath(c.JSONPath)
		if err != nil {
			return nil, fmt.Errorf("column %s of %s: %w", c.Name, d.Type, err)
		}

		row[i] = formatValue(evalPath(steps, doc))
	}

	return row, nil
}

// Resource returns the definition as a resource of type DefinitionType, ID
// the defined type, in MetaNamespace.
func (d Definition) Resource() *Typed[Definition] {
	return NewTyped(MetaNamespace, DefinitionType, d.Type, d)
}

// DeepCopy returns a copy sharing no slices with d.
func (d Definition) DeepCopy() Definition {
	d.Aliases = slices.Clone(d.Aliases)
	d.PrintColumns = slices.Clone(d.PrintColumns)

	return d
}

// sameNoun reports whether a and b (lowercase) are equal or one is a plural
// of the other: +s, +es, or y → ies.
func sameNoun(a, b string) bool {
	return a == b || isPlural(a, b) || isPlural(b, a)
}

func isPlural(singular, plural string) bool {
	if plural == singular+"s" || plural == singular+"es" {
		return true
	}

	stem, ok := strings.CutSuffix(singular, "y")

	return ok && plural == stem+"ies"
}

// Registry holds the definitions of the known types. It is safe for
// concurrent use.
type Registry struct {
	mu   sync.RWMutex
	defs map[string]Definition
}

// NewRegistry returns a registry that knows MetaDefinition.
func NewRegistry() *Registry {
	r := &Registry{defs: map[string]Definition{}}
	r.defs[MetaDefinition.Type] = MetaDefinition.DeepCopy()

	return r
}

// Register adds definitions. It refuses invalid definitions and any name
// (type, short name or alias, up to case and plural) already taken by
// another type; on error nothing is added.
func (r *Registry) Register(defs ...Definition) error {
	r.mu.Lock()
	defer r.mu.Unlock()

	known := slices.Collect(maps.Values(r.defs))
	for _, d := range defs {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("register: %w", err)
		}

		if err := checkNames(d, known); err != nil {
			return fmt.Errorf("register: %w", err)
		}

		known = append(known, d.DeepCopy())
	}

	for _, d := range known {
		r.defs[d.Type] = d
	}

	return nil
}

func checkNames(d Definition, others []Definition) error {
	for _, o := range others {
		if o.Type == d.Type {
			return fmt.Errorf("type %s is already registered", d.Type)
		}

		for _, n := range d.Names() {
			if o.Matches(n) {
				return fmt.Errorf("name %q of %s is already taken by %s", n, d.Type, o.Type)
			}
		}
	}

	return nil
}

// Lookup finds the definition name designates (see Definition.Matches).
func (r *Registry) Lookup(name string) (Definition, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()

	for _, d := range r.defs {
		if d.Matches(name) {
			return d.DeepCopy(), nil
		}
	}

	return Definition{}, fmt.Errorf("%w %q", ErrUnknownType, name)
}

// List returns all definitions sorted by type.
func (r *Registry) List() []Definition {
	r.mu.RLock()
	defer r.mu.RUnlock()

	out := make([]Definition, 0, len(r.defs))
	for _, d := range r.defs {
		out = append(out, d.DeepCopy())
	}

	slices.SortFunc(out, func(a, b Definition) int { return strings.Compare(a.Type, b.Type) })

	return out
}
