package patch

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestJSONPatch(t *testing.T) {
	files := "    - path: /etc/a\n      content: a\n"
	tests := []applyCase{
		{
			name:    "add a new key",
			patches: []string{`[{"op": "add", "path": "/machine/network/nameservers", "value": ["1.1.1.1"]}]`},
			want:    replaceLines("  files:", "    nameservers:\n      - 1.1.1.1\n  files:"),
		},
		{
			name:    "add replaces an existing key in place",
			patches: []string{`[{"op": "add", "path": "/machine/network/hostname", "value": "node-9"}]`},
			want:    replaceLines("hostname: node-1", "hostname: node-9"),
		},
		{
			name:    "add inserts into a list by index",
			patches: []string{`[{"op": "add", "path": "/machine/files/0", "value": {"path": "/etc/0", "content": "0"}}]`},
			want:    replaceLines(files, "    - path: /etc/0\n      content: \"0\"\n"+files),
		},
		{
			name:    "add appends to a list with -, YAML syntax",
			patches: []string{"- op: add\n  path: /machine/files/-\n  value: {path: /etc/b, content: b}\n"},
			want:    replaceLines(files, files+"    - path: /etc/b\n      content: b\n"),
		},
		{
			name:    "remove a key",
			patches: []string{`[{"op": "remove", "path": "/machine/network/hostname"}]`},
			want:    replaceLines("    hostname: node-1\n", ""),
		},
		{
			name:    "remove a list item",
			patches: []string{`[{"op": "remove", "path": "/machine/files/0"}]`},
			want:    replaceLines("  files:\n"+files, "  files: []\n"),
		},
		{
			name:    "replace keeps the line comment",
			patches: []string{`[{"op": "replace", "path": "/machine/type", "value": "worker"}]`},
			want:    replaceLines("type: controlplane #", "type: worker #"),
		},
		{
			name:    "move a value",
			patches: []string{`[{"op": "move", "from": "/cluster/name", "path": "/machine/clusterName"}]`},
			want:    replaceLines("      content: a\n", "      content: a\n  clusterName: demo\n", "cluster:\n  name: demo", "cluster: {}"),
		},
		{
			name:    "copy a list item to the end",
			patches: []string{`[{"op": "copy", "from": "/machine/files/0", "path": "/machine/files/-"}]`},
			want:    replaceLines(files, files+files),
		},
		{
			name: "test passes: numbers by value, maps in any order",
			patches: []string{`[
				{"op": "test", "path": "/machine/network/interfaces/0/routes/0", "value": {"gateway": "10.0.0.1", "network": "10.0.0.0/8"}},
				{"op": "test", "path": "/machine/mtu", "value": 1500.0},
				{"op": "replace", "path": "/machine/mtu", "value": 9000}]`},
			config: "kind: MachineConfig\nmachine:\n  mtu: 1500\n  network:\n    interfaces:\n      - routes:\n          - network: 10.0.0.0/8\n            gateway: 10.0.0.1\n",
			want:   "kind: MachineConfig\nmachine:\n  mtu: 9000\n  network:\n    interfaces:\n      - routes:\n          - network: 10.0.0.0/8\n            gateway: 10.0.0.1\n",
		},
		{
			name:   "~0 and ~1 escapes",
			config: "kind: MachineConfig\nmachine:\n  nodeLabels:\n    plinth.dev/role: a\n    x~y: b\n",
			patches: []string{`[{"op": "replace", "path": "/machine/nodeLabels/plinth.dev~1role", "value": "c"},
				{"op": "remove", "path": "/machine/nodeLabels/x~0y"},
				{"op": "add", "path": "/machine/nodeLabels/a~1~0b", "value": "d"}]`},
			want: "kind: MachineConfig\nmachine:\n  nodeLabels:\n    plinth.dev/role: c\n    a/~b: d\n",
		},
		{
			name:    "replace the whole document",
			config:  "kind: MachineConfig\nmachine: {}\n",
			patches: []string{`[{"op": "replace", "path": "", "value": {"kind": "MachineConfig", "cluster": {"name": "x"}}}]`},
			want:    "kind: MachineConfig\ncluster:\n  name: x\n",
		},
		{
			name:    "only the MachineConfig document is patched",
			patches: []string{`[{"op": "test", "path": "/kind", "value": "MachineConfig"}, {"op": "add", "path": "/name", "value": "n"}]`},
			want:    replaceLines("cluster:\n  name: demo\n", "cluster:\n  name: demo\nname: n\n"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

func TestJSONPatchErrors(t *testing.T) {
	tests := []applyCase{
		{
			name: "remove of a missing key names op and path",
			patches: []string{`[{"op": "add", "path": "/machine/network/hostname", "value": "x"},
				{"op": "remove", "path": "/machine/network/foo"}]`},
			wantErr: `json patch op 2 (remove /machine/network/foo): path not found: no key "foo" in /machine/network`,
		},
		{
			name:    "failed test",
			patches: []string{`[{"op": "test", "path": "/machine/network/hostname", "value": "node-2"}]`},
			wantErr: `json patch op 1 (test /machine/network/hostname): test failed: value is "node-1", want "node-2"`,
		},
		{
			name:    "failed test of a list",
			patches: []string{`[{"op": "test", "path": "/machine/files", "value": []}]`},
			wantErr: `test failed: value is [{path: /etc/a, content: a}], want []`,
		},
		{
			name:    "test compares types: a string is not a number",
			config:  "kind: MachineConfig\nmachine:\n  mtu: 1500\n",
			patches: []string{`[{"op": "test", "path": "/machine/mtu", "value": "1500"}]`},
			wantErr: `test failed: value is 1500, want "1500"`,
		},
		{
			name:    "index past the end",
			patches: []string{`[{"op": "add", "path": "/machine/files/2", "value": {}}]`},
			wantErr: `json patch op 1 (add /machine/files/2): path not found: index 2 out of range in /machine/files (1 items)`,
		},
		{
			name:    "index with a leading zero",
			patches: []string{`[{"op": "replace", "path": "/machine/files/00", "value": {}}]`},
			wantErr: `path not found: "00" is not a list index in /machine/files`,
		},
		{
			name:    "- only appends",
			patches: []string{`[{"op": "remove", "path": "/machine/files/-"}]`},
			wantErr: `path not found: /machine/files/- is past the end of the list`,
		},
		{
			name:    "path through a scalar",
			patches: []string{`[{"op": "add", "path": "/machine/type/x", "value": 1}]`},
			wantErr: `path not found: /machine/type is a scalar, not a map or list`,
		},
		{
			name:    "replace of a missing key",
			patches: []string{`[{"op": "replace", "path": "/cluster/token", "value": "t"}]`},
			wantErr: `json patch op 1 (replace /cluster/token): path not found: no key "token" in /cluster`,
		},
		{
			name:    "copy from a missing path",
			patches: []string{`[{"op": "copy", "from": "/machine/nope", "path": "/machine/x"}]`},
			wantErr: `json patch op 1 (copy /machine/nope -> /machine/x): from: path not found: no key "nope" in /machine`,
		},
		{
			name:    "move into its own child",
			patches: []string{`[{"op": "move", "from": "/machine", "path": "/machine/network/m"}]`},
			wantErr: `cannot move /machine into its own child`,
		},
		{
			name:    "remove the whole document",
			patches: []string{`[{"op": "remove", "path": ""}]`},
			wantErr: `json patch op 1 (remove /): cannot remove the whole document`,
		},
		{
			name:    "path through an alias",
			config:  "kind: MachineConfig\nbase: &b {x: 1}\nmachine: *b\n",
			patches: []string{`[{"op": "add", "path": "/machine/y", "value": 1}]`},
			wantErr: `/machine is YAML alias *b; patch the anchored value instead`,
		},
		{
			name:    "no MachineConfig document",
			config:  "apiVersion: v1\nkind: Other\n",
			patches: []string{`[{"op": "remove", "path": "/a"}]`},
			wantErr: `json patch: config has no MachineConfig document`,
		},
		{
			name:    "unknown op",
			patches: []string{`[{"op": "merge", "path": "/a"}]`},
			wantErr: `load patch: json patch op 1 (line 1): unknown op "merge"`,
		},
		{
			name:    "missing value",
			patches: []string{`[{"op": "add", "path": "/a"}]`},
			wantErr: `json patch op 1 (line 1): add: missing "value"`,
		},
		{
			name:    "missing from",
			patches: []string{"- op: remove\n  path: /a\n- op: move\n  path: /b\n"},
			wantErr: `json patch op 2 (line 3): move: missing "from", a JSON pointer string`,
		},
		{
			name:    "bad escape",
			patches: []string{`[{"op": "remove", "path": "/a~2b"}]`},
			wantErr: `path: JSON pointer "/a~2b": ~ must be followed by 0 or 1`,
		},
		{
			name:    "pointer without a leading slash",
			patches: []string{`[{"op": "remove", "path": "machine"}]`},
			wantErr: `JSON pointer "machine" must be empty or start with /`,
		},
		{
			name:    "JSON patch mixed with other documents",
			patches: []string{"machine: {}\n---\n- op: remove\n  path: /a\n"},
			wantErr: `document 2 is a list: a JSON patch must be the only document`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

func TestJSONPatchSentinelErrors(t *testing.T) {
	tests := []struct {
		spec string
		want error
	}{
		{`[{"op": "test", "path": "/kind", "value": "Other"}]`, ErrTestFailed},
		{`[{"op": "remove", "path": "/nope"}]`, ErrNotFound},
		{`[{"op": "add", "path": "/machine/files/9", "value": 1}]`, ErrNotFound},
	}
	for _, tc := range tests {
		p, err := Load(tc.spec)
		if err != nil {
			t.Fatalf("Load(%s): %v", tc.spec, err)
		}
		if _, err := Apply([]byte(baseConfig), nil, p); !errors.Is(err, tc.want) {
			t.Errorf("Apply(%s) error = %v, want %v", tc.spec, err, tc.want)
		}
	}
}

func TestParsePointer(t *testing.T) {
	tests := []struct {
		in      string
		want    pointer
		wantErr bool
	}{
		{in: "", want: pointer{}},
		{in: "/", want: pointer{""}},
		{in: "/machine/files/0", want: pointer{"machine", "files", "0"}},
		{in: "/a~1b/c~0d/~01", want: pointer{"a/b", "c~d", "~1"}},
		{in: "machine", wantErr: true},
		{in: "/a~", wantErr: true},
		{in: "/a~x", wantErr: true},
	}
	for _, tc := range tests {
		got, err := parsePointer(tc.in)
		if (err != nil) != tc.wantErr {
			t.Fatalf("parsePointer(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
		}
		if tc.wantErr {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parsePointer(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got.String() != tc.in {
			t.Errorf("parsePointer(%q).String() = %q, want it back", tc.in, got.String())
		}
	}
}

func TestJSONPatchCopyIsBounded(t *testing.T) {
	ops := "["
	for i := 0; i < 30; i++ {
		ops += fmt.Sprintf(`{"op": "copy", "from": "/machine", "path": "/machine/m%d"},`, i)
	}
	p, err := Load(strings.TrimSuffix(ops, ",") + "]")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Apply([]byte(baseConfig), nil, p)
	if err == nil || !strings.Contains(err.Error(), "the document grew past 131072 nodes") {
		t.Fatalf("Apply error = %v, want the size limit", err)
	}
}
