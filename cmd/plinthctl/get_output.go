package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	resourceapi "github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// decodeResource turns a resource of the API (metadata, spec as YAML) into
// an Unstructured resource.
func decodeResource(r *resourceapi.Resource) (*resource.Unstructured, error) {
	pm := r.GetMetadata()
	md := resource.Metadata{
		Namespace:  pm.GetNamespace(),
		Type:       pm.GetType(),
		ID:         pm.GetId(),
		Version:    pm.GetVersion(),
		Owner:      pm.GetOwner(),
		Labels:     pm.GetLabels(),
		Finalizers: pm.GetFinalizers(),
	}
	if err := md.Phase.UnmarshalText([]byte(pm.GetPhase())); err != nil {
		return nil, fmt.Errorf("resource %s: %w", md.Ref(), err)
	}
	if pm.GetCreated() != nil {
		md.Created = pm.GetCreated().AsTime()
	}
	if pm.GetUpdated() != nil {
		md.Updated = pm.GetUpdated().AsTime()
	}
	var spec any
	if err := yaml.Unmarshal(r.GetSpec(), &spec); err != nil {
		return nil, fmt.Errorf("resource %s: spec: %w", md.Ref(), err)
	}
	raw, err := json.Marshal(struct {
		Metadata resource.Metadata `json:"metadata"`
		Spec     any               `json:"spec"`
	}{md, spec})
	if err != nil {
		return nil, fmt.Errorf("resource %s: spec: %w", md.Ref(), err)
	}
	return resource.UnmarshalJSON(raw)
}

// definitionOf converts an API definition.
func definitionOf(d *resourceapi.Definition) resource.Definition {
	def := resource.Definition{Type: d.GetType(), DefaultNamespace: d.GetDefaultNamespace(), Aliases: d.GetAliases()}
	for _, c := range d.GetPrintColumns() {
		def.PrintColumns = append(def.PrintColumns, resource.Column{Name: c.GetName(), JSONPath: c.GetJsonPath()})
	}
	return def
}

// tablePrinter prints NODE (several nodes), EVENT (watch), NAMESPACE, TYPE,
// ID, VERSION and the definition's print columns. The header is printed
// with the first resource, whose definition gives the columns.
type tablePrinter struct {
	w         *streamTable
	withNode  bool
	withEvent bool
	header    bool
	n         int
}

func (p *tablePrinter) add(node, event string, d *resourceapi.Definition, r *resourceapi.Resource) error {
	u, err := decodeResource(r)
	if err != nil {
		return fmt.Errorf("node %s: %w", node, err)
	}
	def := definitionOf(d)
	if !p.header {
		p.header = true
		cells := []string{"NAMESPACE", "TYPE", "ID", "VERSION"}
		for _, c := range def.PrintColumns {
			cells = append(cells, strings.ToUpper(c.Name))
		}
		p.row("NODE", "EVENT", cells)
	}
	extra, err := def.Row(u)
	if err != nil {
		return fmt.Errorf("node %s: %s: %w", node, u.Metadata().Ref(), err)
	}
	md := u.Metadata()
	p.row(node, event, append([]string{md.Namespace, md.Type, md.ID, strconv.FormatUint(md.Version, 10)}, extra...))
	p.n++
	return nil
}

func (p *tablePrinter) row(node, event string, cells []string) {
	if p.withEvent {
		cells = append([]string{event}, cells...)
	}
	if p.withNode {
		cells = append([]string{node}, cells...)
	}
	p.w.rows = append(p.w.rows, cells)
}

func (p *tablePrinter) flush() error { return p.w.Flush() }
func (p *tablePrinter) count() int   { return p.n }

// docPrinter prints each resource as a YAML document (separated by "---")
// or an indented JSON object: metadata and spec, led by node (several
// nodes) and event (watch).
type docPrinter struct {
	out      io.Writer
	yaml     bool
	withNode bool
	n        int
}

// docHead is what leads a resource document.
type docHead struct {
	Node  string `json:"node,omitempty" yaml:"node,omitempty"`
	Event string `json:"event,omitempty" yaml:"event,omitempty"`
}

func (p *docPrinter) add(node, event string, _ *resourceapi.Definition, r *resourceapi.Resource) error {
	u, err := decodeResource(r)
	if err != nil {
		return fmt.Errorf("node %s: %w", node, err)
	}
	head := docHead{Event: event}
	if p.withNode {
		head.Node = node
	}
	var doc []byte
	if p.yaml {
		doc, err = p.yamlDoc(head, u)
	} else {
		doc, err = p.jsonDoc(head, u)
	}
	if err != nil {
		return err
	}
	if p.yaml && p.n > 0 {
		doc = append([]byte("---\n"), doc...)
	}
	p.n++
	_, err = p.out.Write(doc)
	return err
}

func (p *docPrinter) yamlDoc(head docHead, u *resource.Unstructured) ([]byte, error) {
	body, err := resource.MarshalYAML(u)
	if err != nil {
		return nil, err
	}
	if head == (docHead{}) {
		return body, nil
	}
	lead, err := yaml.Marshal(head)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", u.Metadata().Ref(), err)
	}
	return append(lead, body...), nil
}

func (p *docPrinter) jsonDoc(head docHead, u *resource.Unstructured) ([]byte, error) {
	body, err := resource.MarshalJSON(u)
	if err != nil {
		return nil, err
	}
	var parts struct {
		Metadata json.RawMessage `json:"metadata"`
		Spec     json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(body, &parts); err != nil {
		return nil, fmt.Errorf("encode %s: %w", u.Metadata().Ref(), err)
	}
	doc, err := json.Marshal(struct {
		docHead
		Metadata json.RawMessage `json:"metadata"`
		Spec     json.RawMessage `json:"spec"`
	}{head, parts.Metadata, parts.Spec})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", u.Metadata().Ref(), err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, doc, "", "  "); err != nil {
		return nil, fmt.Errorf("encode %s: %w", u.Metadata().Ref(), err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func (p *docPrinter) flush() error { return nil }
func (p *docPrinter) count() int   { return p.n }

// streamTable aligns rows like tabwriter, but remembers the column widths
// across flushes, so that rows printed later (watch events) line up with
// the header printed first, unless they are wider.
type streamTable struct {
	out    io.Writer
	widths []int
	rows   [][]string
}

// Flush prints the pending rows, columns three spaces apart.
func (t *streamTable) Flush() error {
	for _, row := range t.rows {
		for i, c := range row {
			if i == len(t.widths) {
				t.widths = append(t.widths, 0)
			}
			t.widths[i] = max(t.widths[i], len(c))
		}
	}
	var b strings.Builder
	for _, row := range t.rows {
		for i, c := range row {
			if i == len(row)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c + strings.Repeat(" ", t.widths[i]-len(c)+3))
		}
		b.WriteByte('\n')
	}
	t.rows = nil
	_, err := io.WriteString(t.out, b.String())
	return err
}
