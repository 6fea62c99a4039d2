package main

import (
	"fmt"
	"go/ast"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// member is one YAML field of a struct.
type member struct {
	name   string // YAML name
	goName string
	typ    *typeRef
	facts  facts
	parsed parsedFacts
}

// structInfo is a struct of the config package as YAML sees it.
type structInfo struct {
	name     string
	facts    facts // of the type's doc comment
	members  []*member
	document bool // the struct is a document kind
}

// member returns the member with YAML name name, or nil.
func (s *structInfo) member(name string) *member {
	for _, m := range s.members {
		if m.name == name {
			return m
		}
	}
	return nil
}

// node is one field path of the reference, or a document at its root.
type node struct {
	name string // YAML name, or the kind for a document
	path string // e.g. machine.network.interfaces
	typ  string // display type; "document" for a document
	facts
	mem *member // nil for a document
	// object is the struct whose fields are children, "" for none, and
	// childPrefix the path its children hang from (e.g. "...interfaces[]").
	object, childPrefix string
	children            []*node
}

// model is everything docgen generates from.
type model struct {
	src        *source
	apiVersion string
	structs    map[string]*structInfo
	documents  []*node // in the order of src.kinds
	resolving  map[string]bool
}

// buildModel resolves the documents of src, the structs they reach and
// their facts, and lays out the field tree. The first kind is the main
// document: its field paths carry no prefix (machine.type); the paths of
// the others start with their kind (TrustedRootsConfig.name).
func buildModel(src *source) (*model, error) {
	m := &model{src: src, apiVersion: src.apiVersion, structs: map[string]*structInfo{}, resolving: map[string]bool{}}
	for _, k := range src.kinds {
		if err := m.resolveDocument(k); err != nil {
			return nil, err
		}
	}
	if err := m.checkFacts(); err != nil {
		return nil, err
	}
	for i, k := range src.kinds {
		prefix := k
		if i == 0 {
			prefix = ""
		}
		s := m.structs[k]
		doc := &node{name: k, path: k, typ: "document", facts: s.facts, object: k, childPrefix: prefix}
		doc.children = m.children(s, prefix)
		m.documents = append(m.documents, doc)
	}
	return m, nil
}

// resolveDocument resolves a document's struct and pins its kind field to
// the document's kind.
func (m *model) resolveDocument(k string) error {
	s, err := m.resolveStruct(k)
	if err != nil {
		return err
	}
	kindMem, versionMem := s.member("kind"), s.member("apiVersion")
	if kindMem == nil || versionMem == nil {
		return fmt.Errorf("document %s: no apiVersion and kind fields (inline TypeMeta)", k)
	}
	kindMem.facts.values = []string{k}
	s.document = true
	return nil
}

// children lays out the fields of s as nodes under prefix.
func (m *model) children(s *structInfo, prefix string) []*node {
	var out []*node
	for _, mem := range s.members {
		n := &node{name: mem.name, path: joinPath(prefix, mem.name), typ: mem.typ.display(), facts: mem.facts, mem: mem}
		if obj, suffix, ok := mem.typ.structBelow(); ok {
			n.object, n.childPrefix = obj, n.path+suffix
			n.children = m.children(m.structs[obj], n.childPrefix)
		}
		out = append(out, n)
	}
	return out
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// resolveStruct turns the struct type name into a structInfo, resolving
// the structs its fields use on the way.
func (m *model) resolveStruct(name string) (*structInfo, error) {
	if s, ok := m.structs[name]; ok {
		return s, nil
	}
	if m.resolving[name] {
		return nil, fmt.Errorf("type %s contains itself", name)
	}
	m.resolving[name] = true
	defer delete(m.resolving, name)
	decl, ok := m.src.types[name]
	if !ok {
		return nil, fmt.Errorf("type %s is not declared in the package", name)
	}
	st, ok := decl.expr.(*ast.StructType)
	if !ok {
		return nil, fmt.Errorf("type %s is not a struct", name)
	}
	f, err := parseFacts(decl.doc)
	if err != nil {
		return nil, fmt.Errorf("type %s: %w", name, err)
	}
	if f.doc == "" {
		return nil, fmt.Errorf("type %s has no doc comment", name)
	}
	s := &structInfo{name: name, facts: f}
	for _, field := range st.Fields.List {
		if err := m.addMembers(s, field); err != nil {
			return nil, fmt.Errorf("type %s: %w", name, err)
		}
	}
	m.structs[name] = s
	return s, nil
}

// addMembers adds the YAML fields that one Go field declaration gives s.
func (m *model) addMembers(s *structInfo, field *ast.Field) error {
	name, opts := yamlTag(field)
	if name == "-" {
		return nil
	}
	if len(field.Names) == 0 {
		return m.addInline(s, field, opts)
	}
	f, err := parseFacts(field.Doc.Text())
	if err != nil {
		return fmt.Errorf("field %s: %w", field.Names[0].Name, err)
	}
	for _, id := range field.Names {
		switch {
		case !id.IsExported():
			continue
		case name == "":
			return fmt.Errorf("field %s has no yaml name in its tag", id.Name)
		case f.doc == "":
			return fmt.Errorf("field %s has no doc comment", id.Name)
		case s.member(name) != nil:
			return fmt.Errorf("field %s: yaml name %q used twice", id.Name, name)
		}
		t, err := m.resolveType(field.Type)
		if err != nil {
			return fmt.Errorf("field %s: %w", id.Name, err)
		}
		s.members = append(s.members, &member{name: name, goName: id.Name, typ: t, facts: f})
	}
	return nil
}

// addInline copies the members of an embedded, inlined struct into s.
func (m *model) addInline(s *structInfo, field *ast.Field, opts []string) error {
	id, ok := field.Type.(*ast.Ident)
	if !ok || !slices.Contains(opts, "inline") {
		return fmt.Errorf("embedded field %v: only inlined structs of the package are supported", field.Type)
	}
	in, err := m.resolveStruct(id.Name)
	if err != nil {
		return err
	}
	for _, mem := range in.members {
		if s.member(mem.name) != nil {
			return fmt.Errorf("inlined %s: yaml name %q used twice", id.Name, mem.name)
		}
		c := *mem // documents change their copy of kind
		s.members = append(s.members, &c)
	}
	return nil
}

// yamlTag returns the name and options of a field's yaml tag.
func yamlTag(field *ast.Field) (name string, opts []string) {
	if field.Tag == nil {
		return "", nil
	}
	raw, err := strconv.Unquote(field.Tag.Value)
	if err != nil {
		return "", nil
	}
	parts := strings.Split(reflect.StructTag(raw).Get("yaml"), ",")
	return parts[0], parts[1:]
}

// resolveType turns a field's Go type into a typeRef. Pointers are seen
// through: YAML has no difference between a pointer and its value.
func (m *model) resolveType(e ast.Expr) (*typeRef, error) {
	switch t := e.(type) {
	case *ast.StarExpr:
		return m.resolveType(t.X)
	case *ast.ArrayType:
		if t.Len != nil {
			return nil, fmt.Errorf("arrays are not supported, use a slice")
		}
		elem, err := m.resolveType(t.Elt)
		if err != nil {
			return nil, err
		}
		return &typeRef{kind: kindList, elem: elem}, nil
	case *ast.MapType:
		if k, ok := t.Key.(*ast.Ident); !ok || k.Name != "string" {
			return nil, fmt.Errorf("map keys must be strings")
		}
		elem, err := m.resolveType(t.Value)
		if err != nil {
			return nil, err
		}
		return &typeRef{kind: kindMap, elem: elem}, nil
	case *ast.InterfaceType:
		if len(t.Methods.List) == 0 {
			return &typeRef{kind: kindAny}, nil
		}
	case *ast.SelectorExpr:
		if x, ok := t.X.(*ast.Ident); ok {
			return m.namedType(x.Name + "." + t.Sel.Name)
		}
	case *ast.Ident:
		return m.namedType(t.Name)
	}
	return nil, fmt.Errorf("unsupported type %T", e)
}

// namedType resolves a type by name: a leaf, a predeclared scalar or a
// struct of the package.
func (m *model) namedType(name string) (*typeRef, error) {
	if _, ok := leaves[name]; ok {
		return &typeRef{kind: kindLeaf, name: name}, nil
	}
	if k, ok := scalarKinds[name]; ok {
		return &typeRef{kind: k}, nil
	}
	if strings.Contains(name, ".") {
		return nil, fmt.Errorf("type %s: unknown to docgen (add it to leaves)", name)
	}
	if _, err := m.resolveStruct(name); err != nil {
		return nil, err
	}
	return &typeRef{kind: kindStruct, name: name}, nil
}

// checkFacts checks the facts of every member against its type, in a
// stable order so that the first error is always the same.
func (m *model) checkFacts() error {
	names := make([]string, 0, len(m.structs))
	for n := range m.structs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		for _, mem := range m.structs[n].members {
			p, err := mem.facts.check(mem.typ, m)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", n, mem.goName, err)
			}
			mem.parsed = p
		}
	}
	return nil
}
