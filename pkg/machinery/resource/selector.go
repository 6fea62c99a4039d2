package resource

import (
	"fmt"
	"strings"
)

// Op is the comparison a selector term makes on one label.
type Op int

const (
	// OpEqual matches when the label exists and equals the value.
	OpEqual Op = iota
	// OpNotEqual matches when the label is absent or differs from the value.
	OpNotEqual
	// OpExists matches when the label exists, whatever its value.
	OpExists
	// OpNotExists matches when the label is absent.
	OpNotExists
)

// Term is one condition of a Selector.
type Term struct {
	Key   string
	Op    Op
	Value string
}

// Matches reports whether labels satisfy the term.
func (t Term) Matches(labels map[string]string) bool {
	v, ok := labels[t.Key]

	switch t.Op {
	case OpEqual:
		return ok && v == t.Value
	case OpNotEqual:
		return !ok || v != t.Value
	case OpExists:
		return ok
	case OpNotExists:
		return !ok
	default:
		return false
	}
}

// String returns the term in ParseSelector syntax.
func (t Term) String() string {
	switch t.Op {
	case OpEqual:
		return t.Key + "=" + t.Value
	case OpNotEqual:
		return t.Key + "!=" + t.Value
	case OpNotExists:
		return "!" + t.Key
	default:
		return t.Key
	}
}

// Selector is a conjunction of terms; the empty selector matches everything.
type Selector []Term

// Matches reports whether labels satisfy every term.
func (s Selector) Matches(labels map[string]string) bool {
	for _, t := range s {
		if !t.Matches(labels) {
			return false
		}
	}

	return true
}

// String returns the selector in ParseSelector syntax.
func (s Selector) String() string {
	parts := make([]string, len(s))
	for i, t := range s {
		parts[i] = t.String()
	}

	return strings.Join(parts, ",")
}

// ParseSelector parses a comma-separated list of terms: "key=value" (or
// "key==value"), "key!=value", "key" (exists) and "!key" (does not exist),
// as given to plinthctl with -l. Spaces around terms are ignored; keys and
// values cannot contain '=', '!', ',' or spaces.
func ParseSelector(s string) (Selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}

	parts := strings.Split(s, ",")
	sel := make(Selector, 0, len(parts))

	for _, part := range parts {
		t, err := parseTerm(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("parse selector %q: %w", s, err)
		}

		sel = append(sel, t)
	}

	return sel, nil
}

func parseTerm(s string) (Term, error) {
	var t Term

	switch {
	case strings.HasPrefix(s, "!") && !strings.Contains(s, "="):
		t = Term{Key: s[1:], Op: OpNotExists}
	case strings.Contains(s, "!="):
		k, v, _ := strings.Cut(s, "!=")
		t = Term{Key: k, Op: OpNotEqual, Value: v}
	case strings.Contains(s, "="):
		k, v, _ := strings.Cut(s, "=")
		t = Term{Key: k, Op: OpEqual, Value: strings.TrimPrefix(v, "=")}
	default:
		t = Term{Key: s, Op: OpExists}
	}

	t.Key = strings.TrimSpace(t.Key)
	t.Value = strings.TrimSpace(t.Value)

	if t.Key == "" || strings.ContainsAny(t.Key, reserved) {
		return Term{}, fmt.Errorf("term %q: invalid label key", s)
	}

	if strings.ContainsAny(t.Value, reserved) {
		return Term{}, fmt.Errorf("term %q: invalid label value", s)
	}

	return t, nil
}

// reserved are the characters label keys and values cannot hold in a
// selector: its operators, separator and white space.
const reserved = "!=, \t\n\r\v\f"
