package patch

import (
	"strings"
	"testing"
)

// testKeys are the merge keys the tests use, as the config package would
// declare them for MachineConfig.
var testKeys = MergeKeys{
	"MachineConfig": {
		"machine.network.interfaces":          "interface",
		"machine.network.interfaces[].routes": "network",
		"machine.files":                       "path",
		"cluster.inlineManifests":             "name",
	},
}

// baseConfig is a small machine config with comments and a second kind
// that appears twice.
const baseConfig = `# Plinth machine config
apiVersion: v1alpha1
kind: MachineConfig
machine:
  type: controlplane # the node's role
  network:
    hostname: node-1
    interfaces:
      - interface: eth0
        dhcp: true
        routes:
          - network: 10.0.0.0/8
            gateway: 10.0.0.1
  files:
    - path: /etc/a
      content: a
cluster:
  name: demo
---
apiVersion: v1alpha1
kind: ExtraManifests
name: first
urls:
  - https://a.example
---
apiVersion: v1alpha1
kind: ExtraManifests
name: second
urls:
  - https://b.example
`

// applyCase is a patch applied to a config with its expected result.
type applyCase struct {
	name    string
	config  string // baseConfig when empty
	patches []string
	want    string // expected output, when wantErr is empty
	wantErr string // substring of the expected error
}

// run loads the patches and applies them, checking the output or error.
func (tc applyCase) run(t *testing.T) {
	t.Helper()
	config := tc.config
	if config == "" {
		config = baseConfig
	}
	var patches []Patch
	for _, spec := range tc.patches {
		p, err := Load(spec)
		if err != nil {
			if tc.wantErr != "" && strings.Contains(err.Error(), tc.wantErr) {
				return
			}
			t.Fatalf("Load(%q): %v", spec, err)
		}
		patches = append(patches, p)
	}
	out, err := Apply([]byte(config), testKeys, patches...)
	if tc.wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Fatalf("Apply error = %v, want it to contain %q", err, tc.wantErr)
		}
		if out != nil {
			t.Fatalf("Apply returned output with an error:\n%s", out)
		}
		return
	}
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := string(out); got != tc.want {
		t.Fatalf("Apply output:\n%s\nwant:\n%s", got, tc.want)
	}
}

// replaceLines returns baseConfig with snippets replaced in turn, given
// as old, new pairs, to write expectations briefly. It panics if a
// snippet is missing.
func replaceLines(pairs ...string) string {
	s := baseConfig
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			panic("replaceLines: snippet not found: " + pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}
