package kube

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Object is a Kubernetes object in its generic form.
type Object map[string]any

// APIVersion, Kind, Namespace and Name read the object's identity.
func (o Object) APIVersion() string { return str(o["apiVersion"]) }

// Kind is the object's kind.
func (o Object) Kind() string { return str(o["kind"]) }

// Namespace is metadata.namespace.
func (o Object) Namespace() string { return str(o.metadata()["namespace"]) }

// Name is metadata.name.
func (o Object) Name() string { return str(o.metadata()["name"]) }

// SetNamespace sets metadata.namespace.
func (o Object) SetNamespace(ns string) {
	md := o.metadata()
	md["namespace"] = ns
	o["metadata"] = md
}

func (o Object) metadata() map[string]any {
	md, _ := o["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
	}

	return md
}

// String names the object as "Kind namespace/name" (or "Kind name").
func (o Object) String() string {
	if ns := o.Namespace(); ns != "" {
		return o.Kind() + " " + ns + "/" + o.Name()
	}

	return o.Kind() + " " + o.Name()
}

func str(v any) string {
	s, _ := v.(string)

	return s
}

// ParseYAML decodes a stream of YAML documents into objects, skipping
// empty documents and unrolling List kinds. Every object needs an
// apiVersion, a kind and a metadata.name.
func ParseYAML(data []byte) ([]Object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))

	var out []Object

	for i := 1; ; i++ {
		var doc map[string]any

		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}

		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}

		if doc == nil {
			continue
		}

		objs := []Object{doc}
		if items, ok := doc["items"].([]any); ok && strings.HasSuffix(str(doc["kind"]), "List") {
			objs = objs[:0]

			for _, it := range items {
				if m, ok := it.(map[string]any); ok {
					objs = append(objs, m)
				}
			}
		}

		for _, o := range objs {
			if o.APIVersion() == "" || o.Kind() == "" || o.Name() == "" {
				return nil, fmt.Errorf("document %d: an object needs apiVersion, kind and metadata.name", i)
			}

			out = append(out, o)
		}
	}
}
