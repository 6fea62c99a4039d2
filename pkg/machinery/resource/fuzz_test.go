package resource_test

import (
	"reflect"
	"testing"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// FuzzUnmarshal feeds arbitrary bytes to the decoders clients run on what
// the API sends. Whatever decodes must re-encode and decode to the same
// resource, in both formats.
func FuzzUnmarshal(f *testing.F) {
	seed, _ := resource.MarshalJSON(sampleResource())
	f.Add(seed)
	f.Add([]byte(wantYAML))
	f.Add([]byte(`{"metadata":{"namespace":"n","type":"t","id":"i","labels":{"a":"b"}},"spec":[1,"x",null,true]}`))
	f.Add([]byte("metadata: {namespace: n, type: t, id: i}\nspec: 1e400\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		for name, decode := range map[string]func([]byte) (*resource.Unstructured, error){
			"json": resource.UnmarshalJSON,
			"yaml": resource.UnmarshalYAML,
		} {
			u, err := decode(data)
			if err != nil {
				continue
			}

			checkReencode(t, name, u)
		}
	})
}

func checkReencode(t *testing.T, name string, u *resource.Unstructured) {
	t.Helper()

	raw, err := resource.MarshalJSON(u)
	if err != nil {
		t.Fatalf("%s: decoded resource does not encode to json: %v", name, err)
	}

	back, err := resource.UnmarshalJSON(raw)
	if err != nil {
		t.Fatalf("%s: json re-encoding does not decode: %v\n%s", name, err, raw)
	}

	if !reflect.DeepEqual(back, u) {
		t.Fatalf("%s: json round trip changed the resource:\n%#v\n%#v", name, back, u)
	}

	y, err := resource.MarshalYAML(u)
	if err != nil {
		t.Fatalf("%s: decoded resource does not encode to yaml: %v", name, err)
	}

	if _, err := resource.UnmarshalYAML(y); err != nil {
		t.Fatalf("%s: yaml re-encoding does not decode: %v\n%s", name, err, y)
	}
}

// FuzzParseSelector checks that any accepted selector prints back to a
// selector with the same meaning.
func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{"a=b", "a!=b,c", "!d", " a == b ", "a=b=c", "x,,y"} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		sel, err := resource.ParseSelector(s)
		if err != nil {
			return
		}

		again, err := resource.ParseSelector(sel.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, sel.String(), err)
		}

		if !reflect.DeepEqual(again, sel) {
			t.Fatalf("%q printed as %q, which parses to %v, not %v", s, sel.String(), again, sel)
		}
	})
}
