package resource

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// pathStep is one field name or list index of a parsed column path.
type pathStep struct {
	key   string
	index int
	isIdx bool
}

// parsePath parses the JSONPath subset used by print columns: an optional
// "{...}" wrapper and optional "$", then steps ".field" and "[index]", e.g.
// "{.spec.addresses[0].address}".
func parsePath(path string) ([]pathStep, error) {
	p := strings.TrimSpace(path)
	if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
		p = p[1 : len(p)-1]
	}

	p = strings.TrimPrefix(p, "$")
	if p == "" {
		return nil, fmt.Errorf("path %q: empty", path)
	}

	var steps []pathStep

	for p != "" {
		step, rest, err := nextStep(p)
		if err != nil {
			return nil, fmt.Errorf("path %q: %w", path, err)
		}

		steps = append(steps, step)
		p = rest
	}

	return steps, nil
}

func nextStep(p string) (pathStep, string, error) {
	switch p[0] {
	case '.':
		end := strings.IndexAny(p[1:], ".[")
		if end < 0 {
			end = len(p) - 1
		}

		key := p[1 : end+1]
		if key == "" || strings.ContainsAny(key, "]{}") {
			return pathStep{}, "", fmt.Errorf("invalid field name at %q", p)
		}

		return pathStep{key: key}, p[end+1:], nil
	case '[':
		end := strings.IndexByte(p, ']')
		if end < 0 {
			return pathStep{}, "", fmt.Errorf("unclosed index at %q", p)
		}

		n, err := strconv.Atoi(p[1:end])
		if err != nil || n < 0 {
			return pathStep{}, "", fmt.Errorf("invalid index at %q", p)
		}

		return pathStep{index: n, isIdx: true}, p[end+1:], nil
	default:
		return pathStep{}, "", fmt.Errorf("expected '.' or '[' at %q", p)
	}
}

// evalPath walks a generic tree; a missing field or index yields nil.
func evalPath(steps []pathStep, doc any) any {
	cur := doc

	for _, s := range steps {
		switch v := cur.(type) {
		case map[string]any:
			if s.isIdx {
				return nil
			}

			cur = v[s.key]
		case []any:
			if !s.isIdx || s.index >= len(v) {
				return nil
			}

			cur = v[s.index]
		default:
			return nil
		}
	}

	return cur
}

// formatValue renders a column cell: scalars as text, lists of scalars
// comma-separated, anything else as compact JSON; nil as "".
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			switch e.(type) {
			case map[string]any, []any:
				return compactJSON(x)
			}

			parts = append(parts, formatValue(e))
		}

		return strings.Join(parts, ",")
	default:
		return compactJSON(x)
	}
}

func compactJSON(v any) string {
	out, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}

	return string(out)
}

// genericForm returns r as the generic tree of its JSON encoding.
func genericForm(r Resource) (any, error) {
	raw, err := MarshalJSON(r)
	if err != nil {
		return nil, err
	}

	return decodeGeneric(raw)
}
