package explain

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// goDocuments are the Go types of the documents and the prefix of their
// field paths, the main document first.
var goDocuments = []struct {
	kind   string
	typ    reflect.Type
	prefix string
}{
	{v1alpha1.KindMachineConfig, reflect.TypeFor[v1alpha1.MachineConfig](), ""},
	{v1alpha1.KindTrustedRootsConfig, reflect.TypeFor[v1alpha1.TrustedRootsConfig](), v1alpha1.KindTrustedRootsConfig},
	{v1alpha1.KindManifestsConfig, reflect.TypeFor[v1alpha1.ManifestsConfig](), v1alpha1.KindManifestsConfig},
}

// leafTypes are the named types the reference shows as one value.
var leafTypes = map[reflect.Type]string{
	reflect.TypeFor[pki.CertAndKey]():  "base64 PEM certificate and key",
	reflect.TypeFor[v1alpha1.Base64](): "base64 string",
}

// TestGeneratedMatchesGoTypes walks the config types with reflect, the way
// the YAML decoder sees them, and checks that the generated reference has
// exactly their field paths, with the same types. A field added, renamed or
// retyped without `make generate` fails here.
func TestGeneratedMatchesGoTypes(t *testing.T) {
	want := map[string]string{}
	for _, d := range goDocuments {
		want[d.kind] = DocumentType
		goFields(d.typ, d.prefix, want)
	}
	got := map[string]string{}
	walk(documents, func(f *Field) { got[f.Path] = f.Type })

	for _, p := range sortedKeys(want) {
		switch g, ok := got[p]; {
		case !ok:
			t.Errorf("%s <%s> is missing from the generated reference: run make generate", p, want[p])
		case g != want[p]:
			t.Errorf("%s is <%s> in the generated reference, <%s> in Go: run make generate", p, g, want[p])
		}
	}
	for _, p := range sortedKeys(got) {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is in the generated reference but not in the Go types: run make generate", p)
		}
	}
}

// TestDocumentKinds checks that the reference knows exactly the kinds the
// config loader does.
func TestDocumentKinds(t *testing.T) {
	got := kinds()
	sort.Strings(got)
	if want := config.Kinds(); !slices.Equal(got, want) {
		t.Errorf("documented kinds %q, loader kinds %q", got, want)
	}
}

// goFields records the path and user-facing type of every YAML field of
// struct type st under prefix.
func goFields(st reflect.Type, prefix string, out map[string]string) {
	for i := 0; i < st.NumField(); i++ {
		sf := st.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		switch {
		case name == "-" || !sf.IsExported():
			continue
		case sf.Anonymous && slices.Contains(strings.Split(opts, ","), "inline"):
			goFields(sf.Type, prefix, out)
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		out[path] = typeName(sf.Type)
		if below, suffix := structBelow(sf.Type); below != nil {
			goFields(below, path+suffix, out)
		}
	}
}

// typeName is how the reference names a type.
func typeName(t reflect.Type) string {
	t = deref(t)
	if name, ok := leafTypes[t]; ok {
		return name
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Interface:
		return "any"
	case reflect.Struct:
		return "object"
	case reflect.Slice:
		return "list of " + itemName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Key()) + " to " + itemName(t.Elem())
	}
	return "unsupported " + t.String()
}

// itemName names the item type of a list or map: a struct by its name.
func itemName(t reflect.Type) string {
	t = deref(t)
	if _, leaf := leafTypes[t]; !leaf && t.Kind() == reflect.Struct {
		return t.Name()
	}
	return typeName(t)
}

// structBelow finds the struct whose fields are a field's children, through
// pointers, list items ("[]") and map values ("{}").
func structBelow(t reflect.Type) (reflect.Type, string) {
	suffix := ""
	for {
		t = deref(t)
		if _, leaf := leafTypes[t]; leaf {
			return nil, ""
		}
		switch t.Kind() {
		case reflect.Struct:
			return t, suffix
		case reflect.Slice:
			suffix += "[]"
		case reflect.Map:
			suffix += "{}"
		default:
			return nil, ""
		}
		t = t.Elem()
	}
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
