package patch

import "testing"

func TestStrategicMerge(t *testing.T) {
	eth0 := `      - interface: eth0
        dhcp: true
        routes:
          - network: 10.0.0.0/8
            gateway: 10.0.0.1
`
	tests := []applyCase{
		{
			name:    "scalar replaced, patch without kind targets MachineConfig",
			patches: []string{`machine: {network: {hostname: node-2}}`},
			want:    replaceLines("hostname: node-1", "hostname: node-2"),
		},
		{
			name:    "scalar replaced keeps the line comment",
			patches: []string{`machine: {type: worker}`},
			want:    replaceLines("type: controlplane #", "type: worker #"),
		},
		{
			name:    "maps merge recursively, new keys appended in order",
			patches: []string{"machine:\n  install: {disk: /dev/vda}\n  network:\n    nameservers: [1.1.1.1]\n"},
			want: replaceLines("  files:", "    nameservers:\n      - 1.1.1.1\n  files:",
				"cluster:", "  install:\n    disk: /dev/vda\ncluster:"),
		},
		{
			name:    "explicit apiVersion and kind select the document",
			patches: []string{"apiVersion: v1alpha1\nkind: MachineConfig\ncluster:\n  name: prod\n"},
			want:    replaceLines("name: demo", "name: prod"),
		},
		{
			name:    "null sets null",
			patches: []string{`machine: {network: {hostname: null}}`},
			want:    replaceLines("hostname: node-1", "hostname: null"),
		},
		{
			name:    "list without merge key is replaced",
			patches: []string{`{kind: ExtraManifests, name: first, urls: [https://c.example, https://d.example]}`},
			want:    replaceLines("  - https://a.example", "  - https://c.example\n  - https://d.example"),
		},
		{
			name:    "document selected by name",
			patches: []string{"kind: ExtraManifests\nname: second\nurls: []\n"},
			want:    replaceLines("urls:\n  - https://b.example", "urls: []"),
		},
		{
			name:    "keyed list: new item appended",
			patches: []string{`machine: {network: {interfaces: [{interface: eth1, mtu: 9000}]}}`},
			want:    replaceLines(eth0, eth0+"      - interface: eth1\n        mtu: 9000\n"),
		},
		{
			name:    "keyed list: existing item merged",
			patches: []string{`machine: {network: {interfaces: [{interface: eth0, dhcp: false, mtu: 9000}]}}`},
			want: replaceLines("        dhcp: true\n        routes:\n          - network: 10.0.0.0/8\n            gateway: 10.0.0.1\n",
				"        dhcp: false\n        routes:\n          - network: 10.0.0.0/8\n            gateway: 10.0.0.1\n        mtu: 9000\n"),
		},
		{
			name: "nested keyed list: routes inside interfaces",
			patches: []string{`machine: {network: {interfaces: [{interface: eth0, routes: [
				{network: 10.0.0.0/8, gateway: 10.0.0.254}, {network: 0.0.0.0/0, gateway: 10.0.0.1}]}]}}`},
			want: replaceLines("            gateway: 10.0.0.1\n",
				"            gateway: 10.0.0.254\n          - network: 0.0.0.0/0\n            gateway: 10.0.0.1\n"),
		},
		{
			name:    "$patch: delete removes a map",
			patches: []string{`machine: {network: {$patch: delete}}`},
			want:    replaceLines("  network:\n    hostname: node-1\n    interfaces:\n"+eth0, ""),
		},
		{
			name:    "$patch: delete removes a keyed list item",
			patches: []string{`machine: {files: [{path: /etc/a, $patch: delete}, {path: /etc/b, content: b}]}`},
			want:    replaceLines("    - path: /etc/a\n      content: a\n", "    - path: /etc/b\n      content: b\n"),
		},
		{
			name:    "$patch: delete removes a nested keyed list item",
			patches: []string{`machine: {network: {interfaces: [{interface: eth0, routes: [{network: 10.0.0.0/8, $patch: delete}]}]}}`},
			want:    replaceLines("        routes:\n          - network: 10.0.0.0/8\n            gateway: 10.0.0.1\n", "        routes: []\n"),
		},
		{
			name:    "$patch: delete removes a whole document",
			patches: []string{"kind: ExtraManifests\nname: first\n$patch: delete\n"},
			want:    replaceLines("---\napiVersion: v1alpha1\nkind: ExtraManifests\nname: first\nurls:\n  - https://a.example\n", ""),
		},
		{
			name:    "$patch: delete of something absent changes nothing",
			patches: []string{`machine: {install: {$patch: delete}, files: [{path: /nope, $patch: delete}]}`},
			want:    baseConfig,
		},
		{
			name:    "directives inside new content are dropped",
			patches: []string{`machine: {network: {interfaces: [{interface: eth1, $patch: delete}, {interface: eth2, vlans: {$patch: delete}}]}}`},
			want:    replaceLines(eth0, eth0+"      - interface: eth2\n"),
		},
		{
			name:    "new document appended",
			patches: []string{"apiVersion: v1alpha1\nkind: ExtraManifests\nname: third # added\nurls: [https://c.example]\n"},
			want:    baseConfig + "---\napiVersion: v1alpha1\nkind: ExtraManifests\nname: third # added\nurls:\n  - https://c.example\n",
		},
		{
			name: "multi-document patch and patches applied in order",
			patches: []string{
				"machine: {network: {hostname: a}}\n---\nkind: ExtraManifests\nname: second\nurls: [https://x.example]\n",
				`machine: {network: {hostname: b}}`,
			},
			want: replaceLines("hostname: node-1", "hostname: b", "https://b.example", "https://x.example"),
		},
		{
			name:    "map replaces null",
			config:  "apiVersion: v1alpha1\nkind: MachineConfig\nmachine:\n  install:\n",
			patches: []string{`{"machine": {"install": {"disk": "/dev/sda", "wipe": "true"}}}`},
			want:    "apiVersion: v1alpha1\nkind: MachineConfig\nmachine:\n  install:\n    disk: /dev/sda\n    wipe: \"true\"\n",
		},
		{
			name:    "comments of the patch are kept on new keys",
			config:  "kind: MachineConfig\nmachine:\n  type: worker\n",
			patches: []string{"machine:\n  # pinned by ops\n  kubelet: {image: k:1}\n"},
			want:    "kind: MachineConfig\nmachine:\n  type: worker\n  # pinned by ops\n  kubelet:\n    image: k:1\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

func TestStrategicMergeErrors(t *testing.T) {
	tests := []applyCase{
		{
			name:    "map into list",
			patches: []string{`machine: {network: {interfaces: {interface: eth0}}}`},
			wantErr: `strategic merge patch document 1 (kind MachineConfig): machine.network.interfaces: cannot merge a map into a list`,
		},
		{
			name:    "list into scalar, in the second document",
			patches: []string{"kind: ExtraManifests\nname: first\n---\nmachine: {type: [a]}\n"},
			wantErr: `document 2 (kind MachineConfig): machine.type: cannot merge a list into a scalar`,
		},
		{
			name:    "kind appearing twice needs a name",
			patches: []string{`{kind: ExtraManifests, urls: []}`},
			wantErr: `document 1 (kind ExtraManifests): selects 2 documents; add a name to pick one`,
		},
		{
			name:    "new document without apiVersion",
			patches: []string{`{kind: Nope, a: 1}`},
			wantErr: `(kind Nope): no such document in the config, and a new document needs apiVersion and kind`,
		},
		{
			name:    "apiVersion mismatch does not add a second document",
			patches: []string{"apiVersion: v1alpha2\nkind: MachineConfig\nmachine: {type: worker}\n"},
			wantErr: `(kind MachineConfig): apiVersion "v1alpha2" does not match the config's ("v1alpha1")`,
		},
		{
			name:    "no MachineConfig document",
			config:  "apiVersion: v1\nkind: Other\n",
			patches: []string{`machine: {type: worker}`},
			wantErr: `(kind MachineConfig): no such document`,
		},
		{
			name:    "unsupported directive",
			patches: []string{`machine: {network: {$patch: replace}}`},
			wantErr: `machine.network: line 1: unsupported $patch value (only "delete" is supported)`,
		},
		{
			name:    "unsupported directive inside new content",
			patches: []string{`machine: {install: {disk: {$patch: keep}}}`},
			wantErr: `machine.install.disk: line 1: unsupported $patch value`,
		},
		{
			name:    "keyed item without its key",
			patches: []string{`machine: {network: {interfaces: [{mtu: 1500}]}}`},
			wantErr: `machine.network.interfaces[0]: item has no "interface" key to merge by`,
		},
		{
			name:    "keyed item that is not a map",
			patches: []string{`machine: {files: [/etc/a]}`},
			wantErr: `machine.files[0]: items of a list merged by "path" must be maps, got a scalar`,
		},
		{
			name:    "error inside a keyed item names the item",
			patches: []string{`machine: {network: {interfaces: [{interface: eth0, routes: {a: b}}]}}`},
			wantErr: `machine.network.interfaces[interface=eth0].routes: cannot merge a map into a list`,
		},
		{
			name:    "merging into an alias",
			config:  "kind: MachineConfig\nbase: &b {x: 1}\nmachine: *b\n",
			patches: []string{`machine: {y: 2}`},
			wantErr: `machine: cannot merge into YAML alias *b`,
		},
		{
			name:    "deleting an anchored value that is still used",
			config:  "kind: MachineConfig\nbase: &b {x: 1}\nmachine: *b\n",
			patches: []string{`base: {$patch: delete}`},
			wantErr: `strategic merge patch: document 1: alias *b refers to an anchor that is missing`,
		},
		{
			name:    "patch that is a scalar",
			patches: []string{`just text`},
			wantErr: `load patch: document 1 (line 1): expected a map (strategic merge) or a list of operations (JSON patch), got a scalar`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}
