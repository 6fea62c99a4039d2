package patch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrNotFound is wrapped by errors of JSON patch operations whose path (or
// from) does not exist.
var ErrNotFound = errors.New("path not found")

// pointer is a parsed RFC 6901 JSON Pointer: its unescaped reference
// tokens. The empty pointer refers to the whole document.
type pointer []string

// parsePointer parses "" or "/a/b~1c/0", unescaping ~1 to "/" and ~0 to "~".
func parsePointer(s string) (pointer, error) {
	if s == "" {
		return pointer{}, nil
	}
	if !strings.HasPrefix(s, "/") {
		return nil, fmt.Errorf("JSON pointer %q must be empty or start with /", s)
	}
	tokens := strings.Split(s[1:], "/")
	for i, t := range tokens {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("JSON pointer %q: ~ must be followed by 0 or 1", s)
			}
		}
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return tokens, nil
}

// String renders the pointer escaped again; the whole document is "".
func (p pointer) String() string {
	var b strings.Builder
	for _, t := range p {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// shown renders the pointer for messages, naming the root "/".
func (p pointer) shown() string {
	if len(p) == 0 {
		return "/"
	}
	return p.String()
}

// parent returns the pointer to the container of p's target and the
// last token. p must not be empty.
func (p pointer) parent() (pointer, string) {
	return p[:len(p)-1], p[len(p)-1]
}

// isPrefixOf reports whether p is a proper prefix of q.
func (p pointer) isPrefixOf(q pointer) bool {
	if len(p) >= len(q) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// resolve returns the node p refers to below root.
func resolve(root *yaml.Node, p pointer) (*yaml.Node, error) {
	n := root
	for i, token := range p {
		at := p[:i]
		var err error
		if n, err = child(n, token, at); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// child returns the member token of container n, found at pointer at.
func child(n *yaml.Node, token string, at pointer) (*yaml.Node, error) {
	switch n.Kind {
	case yaml.MappingNode:
		v := mapGet(n, token)
		if v == nil {
			return nil, fmt.Errorf("%w: no key %q in %s", ErrNotFound, token, at.shown())
		}
		return v, nil
	case yaml.SequenceNode:
		i, err := index(n, token, at, false)
		if err != nil {
			return nil, err
		}
		return n.Content[i], nil
	case yaml.AliasNode:
		return nil, fmt.Errorf("%s is YAML alias *%s; patch the anchored value instead", at.shown(), n.Value)
	default:
		return nil, fmt.Errorf("%w: %s is %s, not a map or list", ErrNotFound, at.shown(), kindName(n))
	}
}

// index parses token as an index into sequence n. With insert, the index
// may equal the length and "-" means the end.
func index(n *yaml.Node, token string, at pointer, insert bool) (int, error) {
	size := len(n.Content)
	if token == "-" {
		if insert {
			return size, nil
		}
		return 0, fmt.Errorf("%w: %s/- is past the end of the list", ErrNotFound, at)
	}
	i, err := strconv.Atoi(token)
	if err != nil || i < 0 || (token != "0" && token[0] == '0') || token[0] == '+' {
		return 0, fmt.Errorf("%w: %q is not a list index in %s", ErrNotFound, token, at.shown())
	}
	if i > size || (i == size && !insert) {
		return 0, fmt.Errorf("%w: index %d out of range in %s (%d items)", ErrNotFound, i, at.shown(), size)
	}
	return i, nil
}

// container resolves the parent of p's target, which must be a map or a
// list; it returns it with p's last token.
func container(root *yaml.Node, p pointer) (*yaml.Node, string, error) {
	at, token := p.parent()
	n, err := resolve(root, at)
	if err != nil {
		return nil, "", err
	}
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		return n, token, nil
	case yaml.AliasNode:
		return nil, "", fmt.Errorf("%s is YAML alias *%s; patch the anchored value instead", at.shown(), n.Value)
	default:
		return nil, "", fmt.Errorf("%w: %s is %s, not a map or list", ErrNotFound, at.shown(), kindName(n))
	}
}
