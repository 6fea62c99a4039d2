package patch

import (
	"os"
	"testing"
)

// FuzzApply checks that loading and applying any patch to any config
// never panics, and that a successful Apply returns a config that parses.
func FuzzApply(f *testing.F) {
	seeds := [][2]string{
		{baseConfig, `machine: {network: {hostname: x}}`},
		{baseConfig, `machine: {network: {interfaces: [{interface: eth0, routes: [{network: 10.0.0.0/8, $patch: delete}]}, {interface: eth1}]}}`},
		{baseConfig, "kind: ExtraManifests\nname: first\n$patch: delete\n"},
		{baseConfig, "apiVersion: v1\nkind: New\nname: n\n---\nmachine: {files: [{path: /etc/a, $patch: delete}]}\n"},
		{baseConfig, `[{"op": "add", "path": "/machine/files/-", "value": {"path": "/b"}}, {"op": "move", "from": "/machine/files/0", "path": "/cluster/f"}]`},
		{baseConfig, `[{"op": "copy", "from": "/machine", "path": "/m~1x"}, {"op": "test", "path": "/m~1x/type", "value": "controlplane"}]`},
		{"kind: MachineConfig\nbase: &b {x: [1]}\nmachine: *b\n", `[{"op": "remove", "path": "/base"}]`},
		{"kind: MachineConfig\nmachine:\n  install:\n", `{"machine": {"install": {"disk": "/dev/sda"}}}`},
	}
	for _, name := range []string{"testdata/network.yaml", "testdata/files.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, [2]string{baseConfig, string(data)})
	}
	for _, s := range seeds {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, config, patch []byte) {
		p, err := LoadBytes("fuzz", patch)
		if err != nil {
			return
		}
		out, err := Apply(config, testKeys, p)
		if err != nil {
			return
		}
		if _, err := parseConfig(out); err != nil {
			t.Fatalf("Apply output does not parse: %v\n%s", err, out)
		}
	})
}
