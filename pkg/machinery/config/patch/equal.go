package patch

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// testEqual checks the JSON patch "test" condition: have and want hold
// equal values. As in JSON, map key order does not matter and numbers
// compare by value (1 equals 1.0).
func testEqual(have, want *yaml.Node) error {
	var a, b any
	if err := have.Decode(&a); err != nil {
		return fmt.Errorf("read value: %w", err)
	}
	if err := want.Decode(&b); err != nil {
		return fmt.Errorf("read test value: %w", err)
	}
	if !valuesEqual(a, b) {
		return fmt.Errorf("%w: value is %s, want %s", ErrTestFailed, render(have), render(want))
	}
	return nil
}

// valuesEqual compares decoded YAML values.
func valuesEqual(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x.Cmp(y) == 0
	}
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valuesEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && mapsEqual(x, y)
	case map[any]any:
		y, ok := b.(map[any]any)
		return ok && mapsEqual(x, y)
	default:
		return reflect.DeepEqual(a, b)
	}
}

// mapsEqual compares maps with the same key type.
func mapsEqual[K comparable](x, y map[K]any) bool {
	if len(x) != len(y) {
		return false
	}
	for k, vx := range x {
		vy, ok := y[k]
		if !ok || !valuesEqual(vx, vy) {
			return false
		}
	}
	return true
}

// number converts a decoded YAML number to a big.Float; NaN is not a
// number here, as JSON has none.
func number(v any) (*big.Float, bool) {
	switch n := v.(type) {
	case int:
		return new(big.Float).SetInt64(int64(n)), true
	case int64:
		return new(big.Float).SetInt64(n), true
	case uint64:
		return new(big.Float).SetUint64(n), true
	case float64:
		if math.IsNaN(n) {
			return nil, false
		}
		return new(big.Float).SetFloat64(n), true
	default:
		return nil, false
	}
}

// render shows a value on one line for messages, shortened if long.
func render(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Tag == tagStr {
		return strconv.Quote(n.Value)
	}
	c := deepCopy(n)
	flow(c)
	out, err := yaml.Marshal(c)
	if err != nil {
		return kindName(n)
	}
	s := strings.TrimSpace(string(out))
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// flow switches containers to flow style and drops comments.
func flow(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style |= yaml.FlowStyle
	}
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		flow(c)
	}
}
