package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// source is what docgen reads from the Go files of the config package: its
// type declarations with their doc comments, the apiVersion and the kinds of
// its documents.
type source struct {
	// apiVersion is the value of the package's APIVersion constant.
	apiVersion string
	// kinds are the values of the Kind* constants, in declaration order;
	// each names a struct type that is a document.
	kinds []string
	// types are the package's type declarations by name.
	types map[string]*typeDecl
}

// typeDecl is one type declaration.
type typeDecl struct {
	name string
	doc  string   // the doc comment's text
	expr ast.Expr // the declared type, e.g. *ast.StructType
}

// loadSource parses the non-test Go files of dir, in name order.
func loadSource(dir string) (*source, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	sort.Strings(paths)
	src := &source{types: map[string]*typeDecl{}}
	fset := token.NewFileSet()
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		if err := src.addFile(f); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(p), err)
		}
	}
	if src.apiVersion == "" {
		return nil, fmt.Errorf("%s: no APIVersion constant", dir)
	}
	if len(src.kinds) == 0 {
		return nil, fmt.Errorf("%s: no Kind* constants naming documents", dir)
	}
	return src, nil
}

// addFile records the type and constant declarations of one file.
func (s *source) addFile(f *ast.File) error {
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, spec := range gd.Specs {
			switch sp := spec.(type) {
			case *ast.TypeSpec:
				doc := sp.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				s.types[sp.Name.Name] = &typeDecl{name: sp.Name.Name, doc: doc.Text(), expr: sp.Type}
			case *ast.ValueSpec:
				if gd.Tok == token.CONST {
					if err := s.addConst(sp); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// addConst picks up APIVersion and the Kind* constants.
func (s *source) addConst(sp *ast.ValueSpec) error {
	for i, name := range sp.Names {
		if name.Name != "APIVersion" && !strings.HasPrefix(name.Name, "Kind") {
			continue
		}
		if i >= len(sp.Values) {
			return fmt.Errorf("constant %s: no value", name.Name)
		}
		lit, ok := sp.Values[i].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return fmt.Errorf("constant %s: want a string literal", name.Name)
		}
		v, err := strconv.Unquote(lit.Value)
		if err != nil {
			return fmt.Errorf("constant %s: %w", name.Name, err)
		}
		if name.Name == "APIVersion" {
			s.apiVersion = v
		} else {
			s.kinds = append(s.kinds, v)
		}
	}
	return nil
}
