package patch

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// machineConfigKind is the kind of the main document, the target of
// patches that do not name a kind and of every JSON patch.
const machineConfigKind = "MachineConfig"

// identity is what selects a document: its apiVersion, kind and, for kinds
// that may appear several times, its name. Empty fields are absent.
type identity struct {
	APIVersion string
	Kind       string
	Name       string
}

// identityOf reads the identity fields of a document's root mapping.
func identityOf(root *yaml.Node) identity {
	var id identity
	id.APIVersion, _ = mapScalar(root, "apiVersion")
	id.Kind, _ = mapScalar(root, "kind")
	id.Name, _ = mapScalar(root, "name")
	return id
}

// String renders an identity as `kind X, name "Y"` for error messages.
func (id identity) String() string {
	s := "kind " + id.Kind
	if id.Name != "" {
		s += fmt.Sprintf(", name %q", id.Name)
	}
	return s
}

// config is a multi-document machine config being patched. Each element
// of docs is a document node whose content is a mapping.
type config struct {
	docs []*yaml.Node
}

// decodeDocuments splits YAML bytes into document nodes. Empty documents
// (such as the one after a trailing `---`) are dropped.
func decodeDocuments(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		doc := &yaml.Node{}
		err := dec.Decode(doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(docs)+1, err)
		}
		if !isEmptyDocument(doc) {
			docs = append(docs, doc)
		}
	}
}

// parseConfig decodes a machine config; every document must be a map.
func parseConfig(data []byte) (*config, error) {
	docs, err := decodeDocuments(data)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, errors.New("config has no documents")
	}
	for i, doc := range docs {
		if root := doc.Content[0]; root.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("document %d (line %d): expected a map, got %s", i+1, root.Line, kindName(root))
		}
	}
	return &config{docs: docs}, nil
}

// encode renders the config with 2-space indentation and `---` between
// documents.
func (c *config) encode() ([]byte, error) {
	if len(c.docs) == 0 {
		return nil, errors.New("patches removed every document")
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for i, doc := range c.docs {
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("encode document %d: %w", i+1, err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

// root returns the mapping of document i.
func (c *config) root(i int) *yaml.Node {
	return c.docs[i].Content[0]
}

// find returns the indexes of the documents a patch document with
// identity want selects: same kind, same apiVersion when want has one,
// and same name when want has one.
func (c *config) find(want identity) []int {
	var found []int
	for i := range c.docs {
		have := identityOf(c.root(i))
		if have.Kind != want.Kind {
			continue
		}
		if want.APIVersion != "" && have.APIVersion != want.APIVersion {
			continue
		}
		if want.Name != "" && have.Name != want.Name {
			continue
		}
		found = append(found, i)
	}
	return found
}

// machineConfig returns the root mapping of the MachineConfig document.
func (c *config) machineConfig() (*yaml.Node, error) {
	found := c.find(identity{Kind: machineConfigKind})
	switch len(found) {
	case 0:
		return nil, errors.New("config has no MachineConfig document")
	case 1:
		return c.root(found[0]), nil
	default:
		return nil, fmt.Errorf("config has %d MachineConfig documents", len(found))
	}
}

// remove drops document i.
func (c *config) remove(i int) {
	c.docs = append(c.docs[:i], c.docs[i+1:]...)
}

// append adds a document whose root mapping is root.
func (c *config) append(root *yaml.Node) {
	c.docs = append(c.docs, &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}})
}

// checkAnchors verifies every document still resolves its aliases.
func (c *config) checkAnchors() error {
	for i, doc := range c.docs {
		if err := checkAnchors(doc); err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
	}
	return nil
}
