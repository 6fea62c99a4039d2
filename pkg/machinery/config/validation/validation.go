// Package validation holds the vocabulary of config validation: the mode a
// config is checked for, and problems that name a document, a field path and
// the YAML position where the field was written.
//
// Validators never stop at the first problem: they add every problem to a
// Collector, and the caller reports them all at once.
package validation

import (
	"fmt"
	"sort"
	"strings"
)

// Mode is the kind of machine a config is validated for.
type Mode string

// Modes a config can be validated for.
const (
	// ModeMetal is a real or virtual machine booting the Plinth image.
	ModeMetal Mode = "metal"
	// ModeContainer is a node running as a container (Docker provisioner, tests).
	ModeContainer Mode = "container"
)

// ParseMode parses a --mode flag value.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case ModeMetal, ModeContainer:
		return Mode(s), nil
	}
	return "", fmt.Errorf("unknown mode %q: expected %q or %q", s, ModeMetal, ModeContainer)
}

// Severity tells errors from warnings.
type Severity int

// Severities of a Problem.
const (
	SeverityError Severity = iota
	SeverityWarning
)

// Position is a place in a YAML source (1-based; zero when unknown).
type Position struct {
	Line, Column int
}

// String renders the position as "line:column", or "" when unknown.
func (p Position) String() string {
	if p.Line == 0 {
		return ""
	}
	return fmt.Sprintf("%d:%d", p.Line, p.Column)
}

// Problem is one error or warning about a config.
type Problem struct {
	// Document describes the document, e.g. "MachineConfig" or "TrustedRootsConfig ca-bundle".
	Document string
	// Path is the field path inside the document, e.g. "machine.network.interfaces[0].mtu".
	Path string
	// Position is where the field (or its parent, when the field is missing) was written.
	Position Position
	// Message says what is wrong and what was expected.
	Message  string
	Severity Severity
}

// String renders the problem on one line:
// "MachineConfig 12:7 machine.network.interfaces[0].mtu: 70000 is out of range: expected 68..65535".
func (p Problem) String() string {
	var b strings.Builder
	if p.Document != "" {
		b.WriteString(p.Document)
		b.WriteString(" ")
	}
	if pos := p.Position.String(); pos != "" {
		b.WriteString("line ")
		b.WriteString(pos)
		b.WriteString(" ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is a list of problems; as an error it lists every problem on its own line.
type Problems []Problem

// Error implements error.
func (ps Problems) Error() string {
	lines := make([]string, 0, len(ps)+1)
	if len(ps) == 1 {
		return "invalid config: " + ps[0].String()
	}
	lines = append(lines, fmt.Sprintf("invalid config: %d problems:", len(ps)))
	for _, p := range ps {
		lines = append(lines, "  - "+p.String())
	}
	return strings.Join(lines, "\n")
}

// Sort orders problems by position, then path, so output is stable.
func (ps Problems) Sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Position.Line != b.Position.Line {
			return a.Position.Line < b.Position.Line
		}
		if a.Position.Column != b.Position.Column {
			return a.Position.Column < b.Position.Column
		}
		return a.Path < b.Path
	})
}

// Locator finds the YAML position of a field path; it returns the position
// of the deepest written ancestor when the path itself was not written.
type Locator interface {
	Locate(path string) Position
}

// Collector gathers the problems of one document.
type Collector struct {
	doc      string
	loc      Locator
	errors   Problems
	warnings Problems
}

// NewCollector starts collecting problems for the document described by doc;
// loc may be nil when positions are unknown (configs built in code).
func NewCollector(doc string, loc Locator) *Collector {
	return &Collector{doc: doc, loc: loc}
}

func (c *Collector) problem(path string, sev Severity, format string, args []any) Problem {
	p := Problem{Document: c.doc, Path: path, Message: fmt.Sprintf(format, args...), Severity: sev}
	if c.loc != nil {
		p.Position = c.loc.Locate(path)
	}
	return p
}

// Errorf records an error at the field path.
func (c *Collector) Errorf(path, format string, args ...any) {
	c.errors = append(c.errors, c.problem(path, SeverityError, format, args))
}

// Warnf records a warning at the field path.
func (c *Collector) Warnf(path, format string, args ...any) {
	c.warnings = append(c.warnings, c.problem(path, SeverityWarning, format, args))
}

// Errors returns the errors collected so far.
func (c *Collector) Errors() Problems { return c.errors }

// Warnings returns the warnings collected so far.
func (c *Collector) Warnings() Problems { return c.warnings }

// Join builds a child field path: Join("machine", "network") is
// "machine.network"; Join("a", "[2]") is "a[2]".
func Join(parent, child string) string {
	switch {
	case parent == "":
		return child
	case strings.HasPrefix(child, "["):
		return parent + child
	}
	return parent + "." + child
}

// Index builds the path of a list item: Index("machine.files", 2) is "machine.files[2]".
func Index(parent string, i int) string { return fmt.Sprintf("%s[%d]", parent, i) }

// Key builds the path of a map entry: Key("machine.sysctls", "net.ipv4.ip_forward")
// is `machine.sysctls["net.ipv4.ip_forward"]`.
func Key(parent, key string) string { return fmt.Sprintf("%s[%q]", parent, key) }
