package apply

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"go.yaml.in/yaml/v3"
)

// Redacted replaces secret values in diffs.
const Redacted = "***"

// secretKeys are the mapping keys whose scalar values are secrets wherever
// they appear: certificate and key material (crt is redacted too, to keep
// diffs short), tokens, random cluster secrets, the secretbox key and the
// service-account key (serviceAccount.key).
var secretKeys = map[string]bool{
	"crt": true, "key": true, "token": true, "secret": true,
	"secretboxEncryptionSecret": true,
}

// Diff returns a unified diff of two configs' YAML with secret values
// redacted; a redacted value that changed reads "*** (changed)". Either
// side may be empty. It returns "" when the redacted texts are equal.
func Diff(oldYAML, newYAML []byte) (string, error) {
	oldVals, err := secretValues(oldYAML)
	if err != nil {
		return "", fmt.Errorf("diff: old config: %w", err)
	}
	oldText, err := redact(oldYAML, nil)
	if err != nil {
		return "", fmt.Errorf("diff: old config: %w", err)
	}
	newText, err := redact(newYAML, oldVals)
	if err != nil {
		return "", fmt.Errorf("diff: new config: %w", err)
	}
	if oldText == newText {
		return "", nil
	}
	out, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(oldText), B: difflib.SplitLines(newText),
		FromFile: "active", ToFile: "new", Context: 3,
	})
	if err != nil {
		return "", fmt.Errorf("diff: %w", err)
	}
	return out, nil
}

// visit walks every document of a YAML stream, calling fn on each secret
// value node with its path.
func visit(data []byte, fn func(path string, n *yaml.Node)) ([]*yaml.Node, error) {
	var docs []*yaml.Node
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		walk(fmt.Sprintf("%d", i), &doc, fn)
		docs = append(docs, &doc)
	}
}

func walk(path string, n *yaml.Node, fn func(string, *yaml.Node)) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			walk(fmt.Sprintf("%s[%d]", path, i), c, fn)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := path + "." + k.Value
			if secretKeys[k.Value] && v.Kind == yaml.ScalarNode {
				fn(p, v)
				continue
			}
			walk(p, v, fn)
		}
	}
}

// secretValues maps the path of each secret value to the value.
func secretValues(data []byte) (map[string]string, error) {
	vals := map[string]string{}
	_, err := visit(data, func(p string, n *yaml.Node) { vals[p] = n.Value })
	return vals, err
}

// redact re-encodes data with secret values replaced. When old is not nil,
// a value that differs from old's at the same path is marked as changed.
func redact(data []byte, old map[string]string) (string, error) {
	docs, err := visit(data, func(p string, n *yaml.Node) {
		mark := Redacted
		if prev, ok := old[p]; old != nil && (!ok || prev != n.Value) {
			mark += " (changed)"
		}
		n.Value, n.Tag, n.Style = mark, "!!str", 0
	})
	if err != nil || len(docs) == 0 {
		return "", err
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return "", err
		}
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}
