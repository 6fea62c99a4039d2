package resource_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

type hostSpec struct {
	Hostname string            `json:"hostname"`
	Enabled  string            `json:"enabled"`
	Port     uint64            `json:"port"`
	PEM      string            `json:"pem"`
	Extra    map[string]string `json:"extra,omitempty"`
}

func sampleResource() *resource.Typed[hostSpec] {
	r := resource.NewTyped("network", "Hostnames.net.plinth.dev", "hostname", hostSpec{
		Hostname: "node-1",
		Enabled:  "true",
		Port:     1<<63 + 1,
		PEM:      "line one\nline two\n",
	})

	md := r.Metadata()
	md.Version = 3
	md.Phase = resource.PhaseTearingDown
	md.Owner = "network.HostnameController"
	md.Labels = map[string]string{"role": "cp"}
	md.Finalizers = []string{"k8s"}
	md.Created = time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	md.Updated = md.Created.Add(time.Minute)

	return r
}

const wantYAML = `metadata:
  namespace: network
  type: Hostnames.net.plinth.dev
  id: hostname
  version: 3
  phase: tearing-down
  owner: network.HostnameController
  labels:
    role: cp
  finalizers:
    - k8s
  created: "2030-01-02T03:04:05.000000006Z"
  updated: "2030-01-02T03:05:05.000000006Z"
spec:
  hostname: node-1
  enabled: "true"
  port: 9223372036854775809
  pem: |
    line one
    line two
`

func TestMarshalYAML(t *testing.T) {
	out, err := resource.MarshalYAML(sampleResource())
	if err != nil {
		t.Fatal(err)
	}

	if string(out) != wantYAML {
		t.Fatalf("yaml:\n%s\nwant:\n%s", out, wantYAML)
	}
}

func TestRoundTrip(t *testing.T) {
	orig := sampleResource()

	decoders := map[string]func(resource.Resource) (*resource.Unstructured, error){
		"json": func(r resource.Resource) (*resource.Unstructured, error) {
			raw, err := resource.MarshalJSON(r)
			if err != nil {
				return nil, err
			}

			return resource.UnmarshalJSON(raw)
		},
		"yaml": func(r resource.Resource) (*resource.Unstructured, error) {
			raw, err := resource.MarshalYAML(r)
			if err != nil {
				return nil, err
			}

			return resource.UnmarshalYAML(raw)
		},
	}

	for name, decode := range decoders {
		t.Run(name, func(t *testing.T) {
			u, err := decode(orig)
			if err != nil {
				t.Fatal(err)
			}

			if !reflect.DeepEqual(*u.Metadata(), *orig.Metadata()) {
				t.Fatalf("metadata:\n%+v\nwant:\n%+v", *u.Metadata(), *orig.Metadata())
			}

			var spec hostSpec
			if err := u.DecodeSpec(&spec); err != nil {
				t.Fatal(err)
			}

			if !reflect.DeepEqual(spec, *orig.TypedSpec()) {
				t.Fatalf("spec:\n%+v\nwant:\n%+v", spec, *orig.TypedSpec())
			}

			port := u.Spec().(map[string]any)["port"]
			if port != json.Number("9223372036854775809") {
				t.Fatalf("port lost precision: %#v", port)
			}

			// An unstructured resource re-encodes to the same document
			// (generic maps order their keys, so compare decoded trees).
			want, _ := resource.MarshalJSON(orig)
			got, err := resource.MarshalJSON(u)
			if err != nil || !sameJSON(t, got, want) {
				t.Fatalf("re-encoded:\n%s\nwant:\n%s (%v)", got, want, err)
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not json", `{`, "unmarshal resource"},
		{"no metadata", `{"spec":{}}`, "metadata is missing"},
		{"no id", `{"metadata":{"namespace":"n","type":"t"}}`, "id is empty"},
		{"bad phase", `{"metadata":{"namespace":"n","type":"t","id":"i","phase":"x"}}`, "unknown phase"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resource.UnmarshalJSON([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to mention %q", err, tt.want)
			}
		})
	}

	if _, err := resource.UnmarshalYAML([]byte("metadata: [")); err == nil {
		t.Fatal("invalid yaml accepted")
	}
}

func TestUnstructuredDeepCopy(t *testing.T) {
	u, err := resource.UnmarshalJSON([]byte(`{"metadata":{"namespace":"n","type":"t","id":"i"},"spec":{"list":[1,{"a":"b"}]}}`))
	if err != nil {
		t.Fatal(err)
	}

	cp := u.DeepCopy()
	cp.Spec().(map[string]any)["list"].([]any)[1].(map[string]any)["a"] = "x"

	if u.Spec().(map[string]any)["list"].([]any)[1].(map[string]any)["a"] != "b" {
		t.Fatal("original changed through the copy")
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()

	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}

	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}

	return reflect.DeepEqual(x, y)
}
