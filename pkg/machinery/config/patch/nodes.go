package patch

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Tags of the YAML core schema used by the engine.
const (
	tagNull = "!!null"
	tagStr  = "!!str"
)

// directiveKey is the map key that carries strategic-merge directives.
const directiveKey = "$patch"

// directiveDelete is the only supported value of directiveKey.
const directiveDelete = "delete"

// kindName names a node's kind for error messages ("a map", "a list", ...).
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	default:
		if isNull(n) {
			return "null"
		}
		return "a scalar"
	}
}

// isNull reports whether n is a null scalar (`~`, `null` or empty).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == tagNull
}

// isEmptyDocument reports whether a decoded document holds nothing
// (for example the empty document after a trailing `---`).
func isEmptyDocument(doc *yaml.Node) bool {
	return len(doc.Content) == 0 || (isNull(doc.Content[0]) && doc.Content[0].Value == "")
}

// mapIndex returns the index in m.Content of the value stored under key,
// or -1. Only plain scalar keys match.
func mapIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind == yaml.ScalarNode && k.Value == key {
			return i + 1
		}
	}
	return -1
}

// mapGet returns the value under key in mapping m, or nil.
func mapGet(m *yaml.Node, key string) *yaml.Node {
	if i := mapIndex(m, key); i >= 0 {
		return m.Content[i]
	}
	return nil
}

// mapScalar returns the scalar string stored under key in m and whether
// there is one.
func mapScalar(m *yaml.Node, key string) (string, bool) {
	v := mapGet(m, key)
	if v == nil || v.Kind != yaml.ScalarNode || isNull(v) {
		return "", false
	}
	return v.Value, true
}

// mapDelete removes key (and its value) from mapping m.
func mapDelete(m *yaml.Node, key string) {
	if i := mapIndex(m, key); i >= 0 {
		m.Content = append(m.Content[:i-1], m.Content[i+1:]...)
	}
}

// mapAppend appends a plain string key with value v to mapping m.
func mapAppend(m *yaml.Node, key string, v *yaml.Node) {
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: tagStr, Value: key}
	m.Content = append(m.Content, k, v)
}

// seqRemove removes item i from sequence s.
func seqRemove(s *yaml.Node, i int) {
	s.Content = append(s.Content[:i], s.Content[i+1:]...)
}

// seqInsert inserts v at index i (0 <= i <= len) of sequence s.
func seqInsert(s *yaml.Node, i int, v *yaml.Node) {
	s.Content = append(s.Content, nil)
	copy(s.Content[i+1:], s.Content[i:])
	s.Content[i] = v
}

// deepCopy returns a copy of n that shares no nodes with it. Anchors are
// dropped from the copy so that an anchor is never defined twice; alias
// nodes are copied as aliases (by name).
func deepCopy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Anchor = ""
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, child := range n.Content {
			c.Content[i] = deepCopy(child)
		}
	}
	return &c
}

// replaceNode overwrites dst in place with a copy of src, keeping dst's
// comments where src has none, and dst's anchor.
func replaceNode(dst, src *yaml.Node) {
	overwrite(dst, deepCopy(src))
}

// normalizeStyle makes a patch's nodes render as block-style YAML:
// flow style and quoting are dropped (the encoder quotes again wherever a
// value would otherwise change type); literal and folded scalars stay.
func normalizeStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle | yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle
	n.Anchor = ""
	for _, c := range n.Content {
		normalizeStyle(c)
	}
}

// findAlias returns the first alias node below n, or nil.
func findAlias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n
	}
	for _, c := range n.Content {
		if a := findAlias(c); a != nil {
			return a
		}
	}
	return nil
}

// checkAnchors verifies that every alias in doc refers to an anchor
// defined before it, as a YAML reader of the encoded document requires.
// Patches can break this by removing or moving an anchored node.
func checkAnchors(doc *yaml.Node) error {
	seen := map[string]bool{}
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		if n.Anchor != "" {
			seen[n.Anchor] = true
		}
		if n.Kind == yaml.AliasNode && !seen[n.Value] {
			return fmt.Errorf("alias *%s refers to an anchor that is missing or comes after it", n.Value)
		}
		for _, c := range n.Content {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(doc)
}

// overwrite puts src in dst's place, in place, taking ownership of src.
// Comments of dst are kept where src has none, and so is dst's anchor
// unless src has its own.
func overwrite(dst, src *yaml.Node) {
	c := *src
	if c.HeadComment == "" {
		c.HeadComment = dst.HeadComment
	}
	if c.LineComment == "" {
		c.LineComment = dst.LineComment
	}
	if c.FootComment == "" {
		c.FootComment = dst.FootComment
	}
	if c.Anchor == "" {
		c.Anchor = dst.Anchor
	}
	*dst = c
}

// countNodes counts the nodes of the tree at n, stopping once the count
// exceeds limit.
func countNodes(n *yaml.Node, limit int) int {
	count := 1
	for _, c := range n.Content {
		if count > limit {
			break
		}
		count += countNodes(c, limit-count)
	}
	return count
}
