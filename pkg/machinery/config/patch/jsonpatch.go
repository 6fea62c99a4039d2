package patch

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// ErrTestFailed is wrapped by the error of a JSON patch "test" operation
// whose value does not match.
var ErrTestFailed = errors.New("test failed")

// maxNodes bounds the size of a document that JSON patch copies may
// build, since each copy can double it.
const maxNodes = 1 << 17

// jsonPatch is an RFC 6902 JSON patch. Its paths are JSON Pointers into
// the MachineConfig document.
type jsonPatch struct {
	name string
	ops  []operation
}

// operation is one JSON patch operation.
type operation struct {
	op    string
	path  pointer
	from  pointer    // move and copy
	value *yaml.Node // add, replace and test
}

// String renders the operation as "op path" (or "op from -> path").
func (o operation) String() string {
	if o.op == "move" || o.op == "copy" {
		return fmt.Sprintf("%s %s -> %s", o.op, o.from.shown(), o.path.shown())
	}
	return o.op + " " + o.path.shown()
}

// String names the patch for error messages.
func (p *jsonPatch) String() string {
	return "json patch" + quoteName(p.name)
}

// parseJSONPatch parses a list of {op, path, value, from} maps. Members
// other than those are ignored, as RFC 6902 asks.
func parseJSONPatch(name string, list *yaml.Node) (*jsonPatch, error) {
	p := &jsonPatch{name: name}
	for i, item := range list.Content {
		op, err := parseOperation(item)
		if err != nil {
			return nil, fmt.Errorf("json patch op %d (line %d): %w", i+1, item.Line, err)
		}
		p.ops = append(p.ops, op)
	}
	return p, nil
}

// parseOperation parses and checks one operation.
func parseOperation(item *yaml.Node) (operation, error) {
	var o operation
	if item.Kind != yaml.MappingNode {
		return o, fmt.Errorf("expected a map with op and path, got %s", kindName(item))
	}
	var ok bool
	if o.op, ok = mapScalar(item, "op"); !ok {
		return o, errors.New(`missing "op"`)
	}
	var err error
	if o.path, err = pointerField(item, "path"); err != nil {
		return o, err
	}
	switch o.op {
	case "add", "replace", "test":
		if o.value = mapGet(item, "value"); o.value == nil {
			return o, fmt.Errorf(`%s: missing "value"`, o.op)
		}
	case "move", "copy":
		if o.from, err = pointerField(item, "from"); err != nil {
			return o, fmt.Errorf("%s: %w", o.op, err)
		}
	case "remove":
	default:
		return o, fmt.Errorf("unknown op %q (want add, remove, replace, move, copy or test)", o.op)
	}
	return o, nil
}

// pointerField parses the JSON Pointer in field of map item.
func pointerField(item *yaml.Node, field string) (pointer, error) {
	v := mapGet(item, field)
	if v == nil || v.Kind != yaml.ScalarNode || (isNull(v) && v.Value != "") {
		return nil, fmt.Errorf("missing %q, a JSON pointer string", field)
	}
	p, err := parsePointer(v.Value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return p, nil
}

func (p *jsonPatch) apply(c *config, _ MergeKeys) error {
	root, err := c.machineConfig()
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	for i, o := range p.ops {
		err := o.apply(root)
		if err == nil && o.op == "copy" && countNodes(root, maxNodes) > maxNodes {
			err = fmt.Errorf("the document grew past %d nodes", maxNodes)
		}
		if err != nil {
			return fmt.Errorf("%s op %d (%s): %w", p, i+1, o, err)
		}
	}
	return nil
}

// apply runs the operation on a document's root map.
func (o operation) apply(root *yaml.Node) error {
	switch o.op {
	case "add":
		return add(root, o.path, deepCopy(o.value))
	case "remove":
		_, err := remove(root, o.path)
		return err
	case "replace":
		target, err := resolve(root, o.path)
		if err != nil {
			return err
		}
		if target == root && o.value.Kind != yaml.MappingNode {
			return fmt.Errorf("the document must stay a map, not %s", kindName(o.value))
		}
		replaceNode(target, o.value)
		return nil
	case "move":
		return move(root, o.from, o.path)
	case "copy":
		v, err := resolve(root, o.from)
		if err != nil {
			return fmt.Errorf("from: %w", err)
		}
		return add(root, o.path, deepCopy(v))
	default: // test
		v, err := resolve(root, o.path)
		if err != nil {
			return err
		}
		return testEqual(v, o.value)
	}
}

// add puts v at p: into a map (replacing an existing key's value) or into
// a list (shifting later items), or as the whole document.
func add(root *yaml.Node, p pointer, v *yaml.Node) error {
	if len(p) == 0 {
		if v.Kind != yaml.MappingNode {
			return fmt.Errorf("the document must stay a map, not %s", kindName(v))
		}
		overwrite(root, v)
		return nil
	}
	parent, token, err := container(root, p)
	if err != nil {
		return err
	}
	if parent.Kind == yaml.MappingNode {
		if j := mapIndex(parent, token); j >= 0 {
			overwrite(parent.Content[j], v)
		} else {
			mapAppend(parent, token, v)
		}
		return nil
	}
	at, _ := p.parent()
	i, err := index(parent, token, at, true)
	if err != nil {
		return err
	}
	seqInsert(parent, i, v)
	return nil
}

// remove detaches and returns the node at p.
func remove(root *yaml.Node, p pointer) (*yaml.Node, error) {
	if len(p) == 0 {
		return nil, errors.New("cannot remove the whole document")
	}
	parent, token, err := container(root, p)
	if err != nil {
		return nil, err
	}
	at, _ := p.parent()
	v, err := child(parent, token, at)
	if err != nil {
		return nil, err
	}
	if parent.Kind == yaml.MappingNode {
		mapDelete(parent, token)
	} else {
		i, _ := index(parent, token, at, false)
		seqRemove(parent, i)
	}
	return v, nil
}

// move removes the node at from and adds it at to.
func move(root *yaml.Node, from, to pointer) error {
	if from.isPrefixOf(to) {
		return fmt.Errorf("cannot move %s into its own child", from.shown())
	}
	if len(from) == 0 {
		return errors.New("cannot move the whole document")
	}
	v, err := remove(root, from)
	if err != nil {
		return fmt.Errorf("from: %w", err)
	}
	return add(root, to, v)
}
