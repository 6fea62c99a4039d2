package patch

import (
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// strategicPatch is a strategic-merge patch: documents merged into the
// config documents they select.
type strategicPatch struct {
	name string
	docs []*yaml.Node // root mappings
}

func newStrategicPatch(name string, docs []*yaml.Node) *strategicPatch {
	p := &strategicPatch{name: name}
	for _, doc := range docs {
		p.docs = append(p.docs, doc.Content[0])
	}
	return p
}

// String names the patch for error messages.
func (p *strategicPatch) String() string {
	return "strategic merge patch" + quoteName(p.name)
}

func (p *strategicPatch) apply(c *config, keys MergeKeys) error {
	for i, doc := range p.docs {
		target := targetOf(doc)
		if err := applyDocument(c, doc, target, keys); err != nil {
			return fmt.Errorf("%s document %d (%s): %w", p, i+1, target, err)
		}
	}
	return nil
}

// targetOf is the identity a patch document selects: its own, with the
// kind defaulting to MachineConfig.
func targetOf(doc *yaml.Node) identity {
	id := identityOf(doc)
	if id.Kind == "" {
		id.Kind = machineConfigKind
	}
	return id
}

// applyDocument merges, deletes or appends one patch document.
func applyDocument(c *config, doc *yaml.Node, target identity, keys MergeKeys) error {
	del, err := deleteDirective(doc)
	if err != nil {
		return err
	}
	found := c.find(target)
	switch {
	case len(found) > 1:
		return fmt.Errorf("selects %d documents; add a name to pick one", len(found))
	case len(found) == 0 && del:
		return nil // already gone
	case len(found) == 0:
		return appendDocument(c, doc)
	case del:
		c.remove(found[0])
		return nil
	}
	m := &merger{keys: keys, kind: target.Kind}
	return m.mergeMap(c.root(found[0]), doc, fieldPath{})
}

// appendDocument adds a patch document that selects nothing as a new
// config document, provided it says what it is.
func appendDocument(c *config, doc *yaml.Node) error {
	id := identityOf(doc)
	if id.Kind == "" || id.APIVersion == "" {
		return fmt.Errorf("no such document in the config, and a new document needs apiVersion and kind")
	}
	if found := c.find(identity{Kind: id.Kind, Name: id.Name}); len(found) > 0 {
		have := identityOf(c.root(found[0]))
		return fmt.Errorf("apiVersion %q does not match the config's (%q)", id.APIVersion, have.APIVersion)
	}
	root, err := cleanCopy(doc, fieldPath{})
	if err != nil {
		return err
	}
	c.append(root)
	return nil
}

// deleteDirective reports whether map n carries `$patch: delete`. Other
// values of $patch are errors.
func deleteDirective(n *yaml.Node) (bool, error) {
	if n.Kind != yaml.MappingNode {
		return false, nil
	}
	v := mapGet(n, directiveKey)
	if v == nil {
		return false, nil
	}
	if v.Kind != yaml.ScalarNode || v.Value != directiveDelete {
		return false, fmt.Errorf("line %d: unsupported %s value (only %q is supported)", v.Line, directiveKey, directiveDelete)
	}
	return true, nil
}

// fieldPath locates a node for messages (shown, such as
// "machine.network.interfaces[interface=eth0].mtu") and for MergeKeys
// lookups (schema, such as "machine.network.interfaces[].mtu").
type fieldPath struct {
	shown, schema string
}

func (p fieldPath) field(name string) fieldPath {
	if p.schema == "" && p.shown == "" {
		return fieldPath{shown: name, schema: name}
	}
	return fieldPath{shown: p.shown + "." + name, schema: p.schema + "." + name}
}

func (p fieldPath) item(label string) fieldPath {
	return fieldPath{shown: p.shown + "[" + label + "]", schema: p.schema + "[]"}
}

// errorf prefixes a message with the path, if any.
func (p fieldPath) errorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if p.shown == "" {
		return err
	}
	return fmt.Errorf("%s: %w", p.shown, err)
}

// merger merges patch nodes into the document of one kind.
type merger struct {
	keys MergeKeys
	kind string
}

// mergeMap merges map src into map dst, key by key.
func (m *merger) mergeMap(dst, src *yaml.Node, p fieldPath) error {
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return p.errorf("line %d: map keys must be scalars", k.Line)
		}
		if k.Value == directiveKey {
			continue // handled by the caller
		}
		fp := p.field(k.Value)
		del, err := deleteDirective(v)
		if err != nil {
			return fp.errorf("%w", err)
		}
		j := mapIndex(dst, k.Value)
		switch {
		case del && j >= 0:
			dst.Content = append(dst.Content[:j-1], dst.Content[j+1:]...)
		case del:
			// Nothing to delete.
		case j < 0:
			c, err := cleanCopy(v, fp)
			if err != nil {
				return err
			}
			dst.Content = append(dst.Content, deepCopy(k), c)
		default:
			if err := m.mergeValue(dst.Content[j], v, fp); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeValue merges src into dst: maps and keyed lists merge, anything
// else replaces dst, provided both are of the same kind or one is null.
func (m *merger) mergeValue(dst, src *yaml.Node, p fieldPath) error {
	_, keyed := m.keys.key(m.kind, p.schema)
	deep := src.Kind == yaml.MappingNode || (src.Kind == yaml.SequenceNode && keyed)
	switch {
	case dst.Kind == yaml.AliasNode && deep:
		return p.errorf("cannot merge into YAML alias *%s; patch the anchored value instead", dst.Value)
	case src.Kind == yaml.MappingNode && dst.Kind == yaml.MappingNode:
		return m.mergeMap(dst, src, p)
	case src.Kind == yaml.SequenceNode && dst.Kind == yaml.SequenceNode && keyed:
		return m.mergeList(dst, src, p)
	case src.Kind == yaml.ScalarNode && dst.Kind == yaml.ScalarNode && src.Tag == dst.Tag && src.Value == dst.Value:
		return nil // unchanged; keep dst's formatting
	case src.Kind != dst.Kind && !isNull(src) && !isNull(dst) && dst.Kind != yaml.AliasNode:
		return p.errorf("cannot merge %s into %s", kindName(src), kindName(dst))
	}
	c, err := cleanCopy(src, p)
	if err != nil {
		return err
	}
	replaceNode(dst, c)
	return nil
}

// mergeList merges a keyed list: src items whose key is in dst merge
// into (or, with `$patch: delete`, remove) those items; others append.
func (m *merger) mergeList(dst, src *yaml.Node, p fieldPath) error {
	field, _ := m.keys.key(m.kind, p.schema)
	for i, item := range src.Content {
		if item.Kind != yaml.MappingNode {
			return p.item(strconv.Itoa(i)).errorf("items of a list merged by %q must be maps, got %s", field, kindName(item))
		}
		key, ok := mapScalar(item, field)
		if !ok {
			return p.item(strconv.Itoa(i)).errorf("item has no %q key to merge by", field)
		}
		ip := p.item(field + "=" + key)
		del, err := deleteDirective(item)
		if err != nil {
			return ip.errorf("%w", err)
		}
		matched := false
		for j := 0; j < len(dst.Content); j++ {
			if have, ok := mapScalar(dst.Content[j], field); !ok || have != key || dst.Content[j].Kind != yaml.MappingNode {
				continue
			}
			matched = true
			if del {
				seqRemove(dst, j)
				j--
				continue
			}
			if err := m.mergeMap(dst.Content[j], item, ip); err != nil {
				return err
			}
		}
		if !matched && !del {
			c, err := cleanCopy(item, ip)
			if err != nil {
				return err
			}
			dst.Content = append(dst.Content, c)
		}
	}
	return nil
}

// cleanCopy copies a patch node for insertion into the config, dropping
// $patch directives and the values they delete.
func cleanCopy(n *yaml.Node, p fieldPath) (*yaml.Node, error) {
	c := *n
	c.Content = nil
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value == directiveKey {
				continue
			}
			cv, err := cleanChild(v, p.field(k.Value))
			if err != nil {
				return nil, err
			}
			if cv != nil {
				c.Content = append(c.Content, deepCopy(k), cv)
			}
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			cv, err := cleanChild(v, p.item(strconv.Itoa(i)))
			if err != nil {
				return nil, err
			}
			if cv != nil {
				c.Content = append(c.Content, cv)
			}
		}
	}
	return &c, nil
}

// cleanChild is cleanCopy for a member of a map or list; it returns nil
// for a member that `$patch: delete` drops.
func cleanChild(v *yaml.Node, p fieldPath) (*yaml.Node, error) {
	del, err := deleteDirective(v)
	if err != nil {
		return nil, p.errorf("%w", err)
	}
	if del {
		return nil, nil
	}
	return cleanCopy(v, p)
}
