package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

// FileMode is the mode of a written secrets file: it holds CA keys.
const FileMode os.FileMode = 0o600

// Marshal returns the YAML form of the bundle.
func (b *Bundle) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(b); err != nil {
		return nil, fmt.Errorf("marshal secrets bundle: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal secrets bundle: %w", err)
	}
	return buf.Bytes(), nil
}

// Write validates the bundle and writes it to path atomically with mode
// FileMode.
func (b *Bundle) Write(path string) error {
	if err := b.Validate(); err != nil {
		return fmt.Errorf("write secrets bundle %s: %w", path, err)
	}
	data, err := b.Marshal()
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(path, data, FileMode); err != nil {
		return fmt.Errorf("write secrets bundle: %w", err)
	}
	return nil
}

// Load reads and validates the bundle at path.
func Load(path string) (*Bundle, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load secrets bundle: %w", err)
	}
	b, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load secrets bundle %s: %w", path, err)
	}
	return b, nil
}

// Parse decodes and validates a bundle strictly: unknown fields, a second
// YAML document or an invalid value are errors that name the line.
func Parse(data []byte) (*Bundle, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("parse secrets bundle: empty document")
		}
		return nil, fmt.Errorf("parse secrets bundle: %w", err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, fmt.Errorf("parse secrets bundle: line %d: want a single YAML document", extra.Line)
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("parse secrets bundle: %w", err)
	}

	// Decode again from the text: KnownFields only applies to a Decoder.
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	var b Bundle
	if err := strict.Decode(&b); err != nil {
		return nil, fmt.Errorf("parse secrets bundle: %w", err)
	}
	if errs := b.fieldErrors(); len(errs) > 0 {
		joined := make([]error, len(errs))
		for i, e := range errs {
			e.Line = lineOf(&doc, e.Field)
			joined[i] = e
		}
		return nil, fmt.Errorf("parse secrets bundle: %w", errors.Join(joined...))
	}
	return &b, nil
}

// lineOf returns the line of the value at a dotted path in a YAML document,
// or of the deepest mapping on the way if the path is missing.
func lineOf(doc *yaml.Node, path string) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, key := range strings.Split(path, ".") {
		next := mappingValue(n, key)
		if next == nil {
			return n.Line
		}
		n = next
	}
	return n.Line
}

// mappingValue returns the value of key in mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
