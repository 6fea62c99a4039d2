package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestParseFacts(t *testing.T) {
	tests := []struct {
		name, text string
		want       facts
	}{
		{"plain", "Disk is the disk.\n", facts{doc: "Disk is the disk."}},
		{"joined lines", "Token is the token\nof the node.\n", facts{doc: "Token is the token of the node."}},
		{"facts", "Mode is the mode.\nValues: a, b ,c\nDefault: a\nExample: b\n",
			facts{doc: "Mode is the mode.", values: []string{"a", "b", "c"}, def: "a", example: "b"}},
		{"first paragraph only", "First.\n\nSecond.\nDefault: 1\n", facts{doc: "First.", def: "1"}},
		{"fact between lines", "One\nExample: x\ntwo.\n", facts{doc: "One two.", example: "x"}},
		{"empty", "", facts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFacts(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if got.doc != tt.want.doc || !slices.Equal(got.values, tt.want.values) || got.def != tt.want.def || got.example != tt.want.example {
				t.Errorf("parseFacts(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestParseFactsErrors(t *testing.T) {
	for text, want := range map[string]string{
		"X.\nDefault: 1\nDefault: 2\n": `"Default:" given twice`,
		"X.\nExample:\n":               `"Example:" line without a value`,
		"X.\nValues: a,,b\n":           `"Values:" line "a,,b" has an empty value`,
		"X.\nValues: a\nValues: b\n":   `"Values:" given twice`,
	} {
		if _, err := parseFacts(text); err == nil || err.Error() != want {
			t.Errorf("parseFacts(%q) error = %v, want %s", text, err, want)
		}
	}
}

// goodModel builds the model of testdata/good.
func goodModel(t *testing.T) *model {
	t.Helper()
	src, err := loadSource("testdata/good")
	if err != nil {
		t.Fatal(err)
	}
	m, err := buildModel(src)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// flatten lists "path <type>" for every node, depth first.
func flatten(nodes []*node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.path+" <"+n.typ+">")
		out = append(out, flatten(n.children)...)
	}
	return out
}

func TestModel(t *testing.T) {
	m := goodModel(t)
	want := []string{
		"Main <document>",
		"apiVersion <string>",
		"kind <string>",
		"node <object>",
		"node.mode <string>",
		"node.links <list of Link>",
		"node.links[].mtu <integer>",
		"node.links[].hostname <string>",
		"node.links[].weight <integer>",
		"node.mirrors <map of string to Mirror>",
		"node.mirrors{}.endpoints <list of string>",
		"node.labels <map of string to string>",
		"node.grid <list of list of Link>",
		"node.grid[][].mtu <integer>",
		"node.grid[][].hostname <string>",
		"node.grid[][].weight <integer>",
		"node.ca <base64 PEM certificate and key>",
		"node.key <base64 string>",
		"node.extra <map of string to any>",
		"node.on <boolean>",
		"Extra <document>",
		"Extra.apiVersion <string>",
		"Extra.kind <string>",
		"Extra.name <string>",
	}
	if got := flatten(m.documents); !slices.Equal(got, want) {
		t.Errorf("paths:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := m.documents[0]; d.doc != "Main is the main document." {
		t.Errorf("Main doc = %q", d.doc)
	}
	kindOf := func(d *node) []string { return d.children[1].values }
	if !slices.Equal(kindOf(m.documents[0]), []string{"Main"}) || !slices.Equal(kindOf(m.documents[1]), []string{"Extra"}) {
		t.Errorf("kind values: %q, %q", kindOf(m.documents[0]), kindOf(m.documents[1]))
	}
	if got := m.structs["Meta"].member("kind").facts.values; got != nil {
		t.Errorf("Meta's own kind field was changed: %q", got)
	}
}

// writePkg writes a package of one file holding decls after a fixed header.
func writePkg(t *testing.T, decls string) string {
	t.Helper()
	dir := t.TempDir()
	src := "package p\n\nconst APIVersion = \"v1\"\n\nconst KindDoc = \"Doc\"\n\n" +
		"// Meta names the schema.\ntype Meta struct {\n\t// APIVersion of it.\n\tAPIVersion string `yaml:\"apiVersion\"`\n" +
		"\t// Kind of it.\n\tKind string `yaml:\"kind\"`\n}\n\n" + decls
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestModelErrors(t *testing.T) {
	doc := func(fields string) string {
		return "// Doc is a doc.\ntype Doc struct {\n\tMeta `yaml:\",inline\"`\n" + fields + "}\n\n// S is a struct.\ntype S struct {\n\t// A is a.\n\tA string `yaml:\"a\"`\n}\n"
	}
	tests := []struct{ name, decls, want string }{
		{"no doc", doc("\tX string `yaml:\"x\"`\n"), "type Doc: field X has no doc comment"},
		{"no yaml name", doc("\t// X is x.\n\tX string\n"), "type Doc: field X has no yaml name in its tag"},
		{"twice", doc("\t// X is x.\n\tX string `yaml:\"a\"`\n\t// Y is y.\n\tY string `yaml:\"a\"`\n"), `type Doc: field Y: yaml name "a" used twice`},
		{"default not a value", doc("\t// X is x.\n\t// Values: a, b\n\t// Default: c\n\tX string `yaml:\"x\"`\n"), `Doc.X: default "c" is not one of the values a, b`},
		{"default of wrong type", doc("\t// X is x.\n\t// Default: yes\n\tX int `yaml:\"x\"`\n"), `Doc.X: default "yes": want integer, got yes`},
		{"negative uint", doc("\t// X is x.\n\t// Default: -1\n\tX uint `yaml:\"x\"`\n"), `Doc.X: default "-1": want integer, got -1`},
		{"example not YAML", doc("\t// X is x.\n\t// Example: {a\n\tX map[string]string `yaml:\"x\"`\n"), `Doc.X: example "{a" is not YAML`},
		{"example unknown field", doc("\t// X is x.\n\t// Example: {b: 1}\n\tX S `yaml:\"x\"`\n"), `Doc.X: example "{b: 1}": S has no field "b"`},
		{"example list item", doc("\t// X is x.\n\t// Example: [a, [b]]\n\tX []string `yaml:\"x\"`\n"), `Doc.X: example "[a, [b]]": item 1: want string, got [b]`},
		{"unknown external type", doc("\t// X is x.\n\tX time.Duration `yaml:\"x\"`\n"), "type Doc: field X: type time.Duration: unknown to docgen (add it to leaves)"},
		{"int map key", doc("\t// X is x.\n\tX map[int]string `yaml:\"x\"`\n"), "type Doc: field X: map keys must be strings"},
		{"array", doc("\t// X is x.\n\tX [2]string `yaml:\"x\"`\n"), "type Doc: field X: arrays are not supported, use a slice"},
		{"not inline", doc("\tS `yaml:\"s\"`\n"), "type Doc: embedded field S: only inlined structs of the package are supported"},
		{"recursive", doc("\t// R is r.\n\tR *R `yaml:\"r\"`\n") + "// R is r.\ntype R struct {\n\t// R again.\n\tR *R `yaml:\"r\"`\n}\n", "field R: type R contains itself"},
		{"no type doc", "type Doc struct {\n\tMeta `yaml:\",inline\"`\n}\n", "type Doc has no doc comment"},
		{"no kind", "// Doc is a doc.\ntype Doc struct{}\n", "document Doc: no apiVersion and kind fields (inline TypeMeta)"},
		{"kind not a struct", "// Doc is a doc.\ntype Doc string\n", "type Doc is not a struct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := loadSource(writePkg(t, tt.decls))
			if err != nil {
				t.Fatal(err)
			}
			_, err = buildModel(src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("buildModel error = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestLoadSourceErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte("package p\n\nconst KindX = \"X\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSource(dir); err == nil || !strings.Contains(err.Error(), "no APIVersion constant") {
		t.Errorf("loadSource without APIVersion: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte("package p\n\nconst APIVersion = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSource(dir); err == nil || !strings.Contains(err.Error(), "want a string literal") {
		t.Errorf("loadSource with a numeric APIVersion: %v", err)
	}
}

func TestOutputsAreStable(t *testing.T) {
	for name, render := range map[string]func(*model) ([]byte, error){
		"go":       func(m *model) ([]byte, error) { return goCode(m, "explain") },
		"markdown": markdown,
		"schema":   jsonSchema,
	} {
		first, err := render(goodModel(t))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for range 3 {
			again, err := render(goodModel(t))
			if err != nil || !bytes.Equal(first, again) {
				t.Fatalf("%s output differs between runs (err %v)", name, err)
			}
		}
	}
}

func TestGoCode(t *testing.T) {
	out, err := goCode(goodModel(t), "explain")
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		generatedHeader + "\n\npackage explain\n",
		`const apiVersion = "v9"`,
		`{Name: "mode", Path: "node.mode", Type: "string", Doc: "Mode of the node, one of two.", Values: []string{"fast", "slow"}, Default: "slow"},`,
		`Example: "{docker.io: {endpoints: [a, b]}}"`,
		"Doc: `Hostname or \"none\".`",
		`{Name: "mtu", Path: "node.grid[][].mtu", Type: "integer", Doc: "MTU of the link.", Default: "1500", Example: "9000"},`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("generated Go lacks %s:\n%s", want, s)
		}
	}
}

func TestMarkdownLinks(t *testing.T) {
	out, err := markdown(goodModel(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	anchors := map[string]bool{}
	for _, h := range regexp.MustCompile("(?m)^#+ (.*)$").FindAllStringSubmatch(s, -1) {
		anchors[slug(h[1])] = true
	}
	links := regexp.MustCompile(`\]\(#([^)]*)\)`).FindAllStringSubmatch(s, -1)
	if len(links) == 0 {
		t.Fatal("no links")
	}
	for _, l := range links {
		if !anchors[l[1]] {
			t.Errorf("link #%s has no heading", l[1])
		}
	}
	for _, want := range []string{
		"### `node.links[]`",
		"| `mode` | string | `slow` | `fast`, `slow` | Mode of the node, one of two. |",
		"| `mirrors` | [map of string to Mirror](#nodemirrors) |  |  | Mirrors by host. Example: `{docker.io: {endpoints: [a, b]}}` |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("markdown lacks %q:\n%s", want, s)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"`machine.network.interfaces[]`": "machinenetworkinterfaces",
		"Machine Config":                 "machine-config",
		"a_b-c{}":                        "a_b-c",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSchema(t *testing.T) {
	out, err := jsonSchema(goodModel(t))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		OneOf []map[string]string       `json:"oneOf"`
		Defs  map[string]map[string]any `json:"$defs"`
	}
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if len(s.OneOf) != 2 || s.OneOf[0]["$ref"] != "#/$defs/Main" || s.OneOf[1]["$ref"] != "#/$defs/Extra" {
		t.Errorf("oneOf = %v", s.OneOf)
	}
	var defs []string
	for name := range s.Defs {
		defs = append(defs, name)
	}
	slices.Sort(defs)
	if want := []string{"Base64", "CertAndKey", "Extra", "Link", "Main", "Mirror", "Node"}; !slices.Equal(defs, want) {
		t.Errorf("$defs = %q, want %q", defs, want)
	}
	props := s.Defs["Node"]["properties"].(map[string]any)
	mode := props["mode"].(map[string]any)
	if mode["default"] != "slow" || len(mode["enum"].([]any)) != 2 {
		t.Errorf("mode = %v", mode)
	}
	mtu := s.Defs["Link"]["properties"].(map[string]any)["mtu"].(map[string]any)
	if mtu["minimum"] != 0.0 || mtu["default"] != 1500.0 || mtu["examples"].([]any)[0] != 9000.0 {
		t.Errorf("mtu = %v", mtu)
	}
	kind := s.Defs["Extra"]["properties"].(map[string]any)["kind"].(map[string]any)
	if kind["const"] != "Extra" {
		t.Errorf("Extra kind = %v", kind)
	}
	if s.Defs["Main"]["additionalProperties"] != false || s.Defs["Main"]["required"] == nil {
		t.Errorf("Main = %v", s.Defs["Main"])
	}
}

// TestCommittedOutputsUpToDate regenerates the reference from the real
// config package and compares it with the committed files, so that plain
// `go test` catches a stale reference as well as `make check-generated`.
func TestCommittedOutputsUpToDate(t *testing.T) {
	const root = "../.."
	src, err := loadSource(filepath.Join(root, "pkg/machinery/config/v1alpha1"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := buildModel(src)
	if err != nil {
		t.Fatal(err)
	}
	for path, render := range map[string]func(*model) ([]byte, error){
		"pkg/machinery/config/explain/zz_generated_fields.go": func(m *model) ([]byte, error) { return goCode(m, "explain") },
		"docs/reference/config.md":                            markdown,
		"docs/reference/config.schema.json":                   jsonSchema,
	} {
		want, err := render(m)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run make generate", path)
		}
	}
}
