package explain

import (
	"slices"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		path, wantPath, wantType string
	}{
		{"machine", "machine", "object"},
		{"machine.network.interfaces", "machine.network.interfaces", "list of Interface"},
		{"machine.network.interfaces[].routes[].gateway", "machine.network.interfaces[].routes[].gateway", "string"},
		{"machine.network.interfaces[0].routes[12].metric", "machine.network.interfaces[].routes[].metric", "integer"},
		{"machine.network.interfaces.routes", "machine.network.interfaces[].routes", "list of Route"},
		{"machine.registries.mirrors[docker.io].endpoints", "machine.registries.mirrors{}.endpoints", "list of string"},
		{"machine.registries.mirrors{}.endpoints", "machine.registries.mirrors{}.endpoints", "list of string"},
		{"machine.registries.mirrors", "machine.registries.mirrors", "map of string to Mirror"},
		{"machine.sysctls", "machine.sysctls", "map of string to string"},
		{"machine.ca", "machine.ca", "base64 PEM certificate and key"},
		{"cluster.serviceAccount.key", "cluster.serviceAccount.key", "base64 string"},
		{"machine.kubelet.extraConfig", "machine.kubelet.extraConfig", "map of string to any"},
		{"MachineConfig.machine.type", "machine.type", "string"},
		{"machineconfig.cluster", "cluster", "object"},
		{"MachineConfig", "MachineConfig", DocumentType},
		{"kind", "kind", "string"},
		{"TrustedRootsConfig.certificates", "TrustedRootsConfig.certificates", "string"},
		{"trustedrootsconfig", "TrustedRootsConfig", DocumentType},
		{"MANIFESTSCONFIG.contents", "ManifestsConfig.contents", "string"},
		{"machine.CERTSANS", "machine.certSANs", "list of string"},
		{" machine.type ", "machine.type", "string"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			f, err := Lookup(tt.path)
			if err != nil {
				t.Fatalf("Lookup(%q): %v", tt.path, err)
			}
			if f.Path != tt.wantPath || f.Type != tt.wantType {
				t.Errorf("Lookup(%q) = %s <%s>, want %s <%s>", tt.path, f.Path, f.Type, tt.wantPath, tt.wantType)
			}
		})
	}
}

func TestLookupFacts(t *testing.T) {
	f, err := Lookup("machine.files[].op")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Values, []string{"create", "append"}) || f.Default != "create" {
		t.Errorf("machine.files[].op: values %q, default %q", f.Values, f.Default)
	}
	if f, _ := Lookup("kind"); !slices.Equal(f.Values, []string{"MachineConfig"}) {
		t.Errorf("MachineConfig kind values = %q", f.Values)
	}
	if f, _ := Lookup("TrustedRootsConfig.kind"); !slices.Equal(f.Values, []string{"TrustedRootsConfig"}) {
		t.Errorf("TrustedRootsConfig kind values = %q", f.Values)
	}
	if f, _ := Lookup("machine.sysctls"); f.Example != `{net.ipv4.ip_forward: "1"}` {
		t.Errorf("machine.sysctls example = %q", f.Example)
	}
}

func TestLookupErrors(t *testing.T) {
	machineFields := "ca, certSANs, env, features, files, install, kernel, kubelet, network, nodeLabels, nodeTaints, registries, sysctls, time, token, type"
	tests := []struct {
		path, want string
	}{
		{"machine.netwrk", `no field "netwrk" in machine; did you mean "network"? fields: ` + machineFields},
		{"machine.network.inter", `no field "inter" in machine.network; did you mean "interfaces"? fields: extraHostEntries, hostname, interfaces, nameservers`},
		{"machine.network.interfaces[0].rout", `no field "rout" in machine.network.interfaces; did you mean "routes"? fields: addresses, deviceSelector, dhcp, ignore, interface, mtu, routes`},
		{"machine.xyzzy", `no field "xyzzy" in machine; fields: ` + machineFields},
		{"machin", `no field "machin" in MachineConfig; did you mean "machine"? fields: apiVersion, cluster, kind, machine; documents: MachineConfig, TrustedRootsConfig, ManifestsConfig`},
		{"TrustedRoots.name", `no field "TrustedRoots" in MachineConfig; did you mean "TrustedRootsConfig"? fields: apiVersion, cluster, kind, machine; documents: MachineConfig, TrustedRootsConfig, ManifestsConfig`},
		{"TrustedRootsConfig.nme", `no field "nme" in TrustedRootsConfig; did you mean "name"? fields: apiVersion, certificates, kind, name`},
		{"machine.type.foo", `no field "foo" in machine.type: it is a string, which has no fields`},
		{"", "empty path"},
		{"[0]", "empty path"},
		{"machine..type", `path "machine..type": empty field name`},
		{"machine.", `path "machine.": empty field name`},
		{"machine.files[0", `path "machine.files[0": '[' without ']'`},
		{"machine.files]", `path "machine.files]": ']' without its opening bracket`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			f, err := Lookup(tt.path)
			if err == nil {
				t.Fatalf("Lookup(%q) = %s, want an error", tt.path, f.Path)
			}
			if err.Error() != tt.want {
				t.Errorf("Lookup(%q) error:\n got %s\nwant %s", tt.path, err, tt.want)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	names := []string{"apiVersion", "kind", "machine", "cluster"}
	tests := []struct{ name, want string }{
		{"machin", "machine"},
		{"MACHINE", "machine"},
		{"clustr", "cluster"},
		{"kidn", "kind"},
		{"ki", "kind"},  // prefix
		{"k", ""},       // too short for a prefix, too far for edits
		{"network", ""}, // nothing close
		{"apiversoin", "apiVersion"},
	}
	for _, tt := range tests {
		if got := closest(tt.name, names); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"netwrk", "network", 1},
		{"kitten", "sitting", 3}, {"flaw", "lawn", 2},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"apiVersion", "cluster", "kind", "machine", "MachineConfig", "TrustedRootsConfig", "ManifestsConfig"}},
		{"ma", []string{"machine", "MachineConfig", "ManifestsConfig"}},
		{"machine.ne", []string{"machine.network"}},
		{"machine.n", []string{"machine.network", "machine.nodeLabels", "machine.nodeTaints"}},
		{"machine.network.interfaces[0].r", []string{"machine.network.interfaces[0].routes"}},
		{"TrustedRootsConfig.c", []string{"TrustedRootsConfig.certificates"}},
		{"machine.nope.", nil},
		{"machine.type.", nil},
	}
	for _, tt := range tests {
		if got := Complete(tt.prefix); !slices.Equal(got, tt.want) {
			t.Errorf("Complete(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}

func TestDocuments(t *testing.T) {
	docs := Documents()
	var names []string
	for _, d := range docs {
		names = append(names, d.Name)
		if d.Type != DocumentType || d.Path != d.Name || d.Doc == "" {
			t.Errorf("document %s: type %q, path %q, doc %q", d.Name, d.Type, d.Path, d.Doc)
		}
	}
	if want := []string{"MachineConfig", "TrustedRootsConfig", "ManifestsConfig"}; !slices.Equal(names, want) {
		t.Errorf("documents = %q, want %q", names, want)
	}
	docs[0] = nil // a copy: the package's list is untouched
	if Documents()[0] == nil {
		t.Error("Documents returned the package's own slice")
	}
	if APIVersion() != "v1alpha1" {
		t.Errorf("APIVersion() = %q", APIVersion())
	}
}

// TestEveryFieldDocumented checks the generated text, which docgen also
// enforces: every field has a description, and paths are unique.
func TestEveryFieldDocumented(t *testing.T) {
	seen := map[string]bool{}
	walk(documents, func(f *Field) {
		if strings.TrimSpace(f.Doc) == "" {
			t.Errorf("%s has no description", f.Path)
		}
		if seen[f.Path] {
			t.Errorf("path %s appears twice", f.Path)
		}
		seen[f.Path] = true
	})
}

// walk calls fn on every field of the tree, depth first.
func walk(fields []*Field, fn func(*Field)) {
	for _, f := range fields {
		fn(f)
		walk(f.Fields, fn)
	}
}
