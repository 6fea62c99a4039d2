package explain

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// sample is a small tree independent of the generated data.
var sample = &Field{
	Name: "links", Path: "node.links", Type: "list of Link",
	Doc:     "Links configures the network links of the node, each selected by its name; a link left out is brought up with the kernel's defaults.",
	Values:  []string{"a", "b"},
	Default: "[]",
	Example: "[{name: eth0}]",
	Fields: []*Field{
		{Name: "name", Path: "node.links[].name", Type: "string", Doc: "Name of the link."},
		{Name: "bond", Path: "node.links[].bond", Type: "object", Doc: "Bond joins links.", Fields: []*Field{
			{Name: "mode", Path: "node.links[].bond.mode", Type: "string", Doc: "Mode of the bond."},
			{Name: "members", Path: "node.links[].bond.members", Type: "list of string", Doc: "Members of the bond."},
		}},
	},
}

func TestRender(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, sample, false); err != nil {
		t.Fatal(err)
	}
	want := `FIELD: links <list of Link>
PATH:  node.links

DESCRIPTION:
    Links configures the network links of the node, each selected by its name; a
    link left out is brought up with the kernel's defaults.

VALUES:
    a
    b

DEFAULT:
    []

EXAMPLE:
    links: [{name: eth0}]

FIELDS:
    name  <string>
        Name of the link.

    bond  <object>
        Bond joins links.
`
	if got := b.String(); got != want {
		t.Errorf("Render:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderRecursive(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, sample, true); err != nil {
		t.Fatal(err)
	}
	_, fields, _ := strings.Cut(b.String(), "FIELDS:\n")
	want := `    name  <string>
    bond  <object>
        mode     <string>
        members  <list of string>
`
	if fields != want {
		t.Errorf("recursive FIELDS:\n%s\nwant:\n%s", fields, want)
	}
}

func TestRenderLeafAndDocument(t *testing.T) {
	var b bytes.Buffer
	leaf := &Field{Name: "mtu", Path: "node.mtu", Type: "integer", Doc: "MTU of the link."}
	if err := Render(&b, leaf, true); err != nil {
		t.Fatal(err)
	}
	if want := "FIELD: mtu <integer>\nPATH:  node.mtu\n\nDESCRIPTION:\n    MTU of the link.\n"; b.String() != want {
		t.Errorf("leaf:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	if err := Render(&b, documents[1], false); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "KIND:    TrustedRootsConfig\nVERSION: v1alpha1\n\nDESCRIPTION:\n") {
		t.Errorf("document header:\n%s", b.String())
	}
}

func TestRenderOverview(t *testing.T) {
	var b bytes.Buffer
	if err := RenderOverview(&b, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"DOCUMENTS (apiVersion: v1alpha1):\n    MachineConfig       <document>\n",
		"\n    TrustedRootsConfig  <document>\n",
		"\n    ManifestsConfig     <document>\n",
		"\nKIND:    MachineConfig\n",
		"\n    machine     <object>\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("overview lacks %q:\n%s", want, out)
		}
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRenderWriteError(t *testing.T) {
	if err := Render(failWriter{}, sample, false); err == nil || err.Error() != "disk full" {
		t.Errorf("Render to a failing writer: %v", err)
	}
	if err := RenderOverview(failWriter{}, false); err == nil {
		t.Error("RenderOverview to a failing writer: no error")
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		text  string
		width int
		want  []string
	}{
		{"", 10, nil},
		{"one two three", 7, []string{"one two", "three"}},
		{"one  two\tthree", 80, []string{"one two three"}},
		{"a verylongword b", 4, []string{"a", "verylongword", "b"}},
		{"abcd efgh", 9, []string{"abcd efgh"}},
	}
	for _, tt := range tests {
		if got := wrap(tt.text, tt.width); !slices.Equal(got, tt.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.text, tt.width, got, tt.want)
		}
	}
}
