// Package patch applies patches to Plinth machine configs.
//
// A machine config is multi-document YAML; every document has an
// apiVersion and a kind, and the main one is kind MachineConfig. Two kinds
// of patch are supported:
//
//   - Strategic merge: one or more YAML documents merged into the config
//     documents they select by kind (and apiVersion and name). Maps merge
//     recursively, scalars replace, lists named in [MergeKeys] merge item by
//     item by a key field and all other lists are replaced. The directive
//     `$patch: delete` removes the map, list item or document holding it.
//   - JSON patch (RFC 6902): a list of {op, path, value, from} operations
//     applied to the MachineConfig document.
//
// Patches work on YAML node trees, so the comments and key order of the
// config survive. Applying is all or nothing: a patch that does not apply
// makes [Apply] return an error and no output.
package patch

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Patch is one parsed patch, made by [Load] or [LoadBytes]. Its String
// names it ("strategic merge patch \"@p.yaml\"") for error messages.
type Patch interface {
	fmt.Stringer

	// apply patches c in place. On error c may be partly changed; Apply
	// discards it.
	apply(c *config, keys MergeKeys) error
}

// MergeKeys tells which lists merge item by item, by kind, then by list
// path, giving the key field that identifies an item. Paths are dotted,
// with "[]" for list items:
//
//	MergeKeys{"MachineConfig": {
//		"machine.network.interfaces":          "interface",
//		"machine.network.interfaces[].routes": "network",
//	}}
type MergeKeys map[string]map[string]string

// key returns the key field of the list at path in documents of kind.
func (k MergeKeys) key(kind, path string) (string, bool) {
	field, ok := k[kind][path]
	return field, ok && field != ""
}

// Load parses a patch given as "@path" (the file at path) or as inline
// YAML or JSON text. See [LoadBytes] for the formats.
func Load(spec string) (Patch, error) {
	file, ok := strings.CutPrefix(spec, "@")
	if !ok {
		return LoadBytes("", []byte(spec))
	}
	if file == "" {
		return nil, errors.New("load patch \"@\": missing file name after @")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load patch %q: %w", spec, err)
	}
	return LoadBytes(spec, data)
}

// LoadBytes parses a patch; name (such as "@p.yaml", or "" for inline
// text) only appears in messages. A single document that is a list is a
// JSON patch, a list of {op, path, value, from} objects; otherwise every
// document must be a map and the patch is a strategic merge.
func LoadBytes(name string, data []byte) (Patch, error) {
	docs, err := decodeDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("load patch%s: %w", quoteName(name), err)
	}
	p, err := parsePatch(name, docs)
	if err != nil {
		return nil, fmt.Errorf("load patch%s: %w", quoteName(name), err)
	}
	return p, nil
}

// parsePatch decides the kind of patch from its documents and parses it.
func parsePatch(name string, docs []*yaml.Node) (Patch, error) {
	if len(docs) == 0 {
		return nil, errors.New("patch is empty")
	}
	for i, doc := range docs {
		root := doc.Content[0]
		switch root.Kind {
		case yaml.SequenceNode:
			if len(docs) > 1 {
				return nil, fmt.Errorf("document %d is a list: a JSON patch must be the only document", i+1)
			}
		case yaml.MappingNode:
		default:
			return nil, fmt.Errorf("document %d (line %d): expected a map (strategic merge) or a list of operations (JSON patch), got %s",
				i+1, root.Line, kindName(root))
		}
		if a := findAlias(root); a != nil {
			return nil, fmt.Errorf("document %d line %d: YAML aliases are not supported in patches", i+1, a.Line)
		}
		normalizeStyle(root)
	}
	if docs[0].Content[0].Kind == yaml.SequenceNode {
		return parseJSONPatch(name, docs[0].Content[0])
	}
	return newStrategicPatch(name, docs), nil
}

// quoteName renders a patch name for messages: ` "name"`, or nothing for
// inline patches.
func quoteName(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" %q", name)
}

// Apply applies patches in order to a multi-document config and returns
// the patched config: YAML with 2-space indentation, documents separated
// by `---`. keys tells which lists merge by key in strategic merges. If
// any patch fails, Apply returns its error and no output.
func Apply(config []byte, keys MergeKeys, patches ...Patch) ([]byte, error) {
	cfg, err := parseConfig(config)
	if err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	for i, p := range patches {
		if p == nil {
			return nil, fmt.Errorf("patch %d is nil", i+1)
		}
		if err := p.apply(cfg, keys); err != nil {
			return nil, err
		}
		if err := cfg.checkAnchors(); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	out, err := cfg.encode()
	if err != nil {
		return nil, fmt.Errorf("apply patches: %w", err)
	}
	return out, nil
}
