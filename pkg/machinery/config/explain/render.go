package explain

import (
	"fmt"
	"io"
	"strings"
)

// textWidth is where Render wraps text, not counting the indent.
const textWidth = 80

// Render prints f the way kubectl explain does: its name, type and path,
// its description, allowed values, default and example when present, and
// its fields with their types and descriptions. With recursive, the fields
// are the whole subtree, names and types only, indented by depth.
func Render(w io.Writer, f *Field, recursive bool) error {
	p := &printer{w: w}
	if f.Type == DocumentType {
		p.printf("KIND:    %s\nVERSION: %s\n", f.Name, apiVersion)
	} else {
		p.printf("FIELD: %s <%s>\nPATH:  %s\n", f.Name, f.Type, f.Path)
	}
	p.section("DESCRIPTION", wrap(f.Doc, textWidth)...)
	if len(f.Values) > 0 {
		p.section("VALUES", f.Values...)
	}
	if f.Default != "" {
		p.section("DEFAULT", f.Default)
	}
	if f.Example != "" {
		p.section("EXAMPLE", f.Name+": "+f.Example)
	}
	if len(f.Fields) > 0 {
		p.printf("\nFIELDS:\n")
		if recursive {
			p.tree(f.Fields, 1)
		} else {
			p.list(f.Fields)
		}
	}
	return p.err
}

// RenderOverview prints the document kinds, then the main document as
// Render does.
func RenderOverview(w io.Writer, recursive bool) error {
	p := &printer{w: w}
	p.printf("DOCUMENTS (apiVersion: %s):\n", apiVersion)
	p.list(documents)
	p.printf("\n")
	if p.err != nil {
		return p.err
	}
	return Render(w, documents[0], recursive)
}

// printer writes to w and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// section prints a heading and its lines, indented.
func (p *printer) section(heading string, lines ...string) {
	p.printf("\n%s:\n", heading)
	for _, l := range lines {
		p.printf("    %s\n", l)
	}
}

// list prints fields with their types and descriptions, a blank line
// between two fields.
func (p *printer) list(fields []*Field) {
	width := nameWidth(fields)
	for i, f := range fields {
		if i > 0 {
			p.printf("\n")
		}
		p.printf("    %-*s<%s>\n", width, f.Name, f.Type)
		for _, l := range wrap(f.Doc, textWidth) {
			p.printf("        %s\n", l)
		}
	}
}

// tree prints the names and types of fields and of theirs, depth first.
func (p *printer) tree(fields []*Field, depth int) {
	width := nameWidth(fields)
	indent := strings.Repeat("    ", depth)
	for _, f := range fields {
		p.printf("%s%-*s<%s>\n", indent, width, f.Name, f.Type)
		p.tree(f.Fields, depth+1)
	}
}

// nameWidth is the width of the name column: the longest name and two
// spaces.
func nameWidth(fields []*Field) int {
	w := 0
	for _, f := range fields {
		w = max(w, len(f.Name))
	}
	return w + 2
}

// wrap breaks text into lines of at most width bytes at spaces; a word
// longer than width gets a line of its own.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
