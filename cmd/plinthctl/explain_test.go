package main

import (
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"overview", nil},
		{"struct", []string{"machine.network"}},
		{"list-of-structs", []string{"machine.network.interfaces"}},
		{"list-item-field", []string{"machine.network.interfaces[0].routes[].metric"}},
		{"values-default", []string{"cluster.proxy.mode"}},
		{"map", []string{"machine.sysctls"}},
		{"map-of-structs", []string{"machine.registries.mirrors"}},
		{"cert-and-key", []string{"cluster.etcd.ca"}},
		{"extra-kind", []string{"trustedrootsconfig"}},
		{"extra-kind-field", []string{"ManifestsConfig.contents"}},
		{"main-kind-prefix", []string{"MachineConfig.cluster.network.cni"}},
		{"recursive", []string{"machine.network", "--recursive"}},
		{"recursive-short", []string{"cluster.network", "-r"}},
		{"unknown", []string{"machine.netwrk"}},
		{"unknown-kind", []string{"TrustedRoots.name"}},
		{"leaf-has-no-fields", []string{"machine.type.value"}},
		{"bad-path", []string{"machine.files[0"}},
		{"two-args", []string{"machine", "cluster"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runCLI(t, append([]string{"explain"}, tt.args...)...)
			got := stdout + stderr
			if err != nil {
				got += "error: " + err.Error() + "\n"
			}
			golden(t, "explain/"+tt.name+".txt", []byte(got))
		})
	}
}

func TestExplainCompletion(t *testing.T) {
	stdout, _, err := runCLI(t, "__complete", "explain", "machine.network.in")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || lines[0] != "machine.network.interfaces" || !strings.HasPrefix(lines[1], ":") {
		t.Errorf("completion of machine.network.in:\n%s", stdout)
	}
	stdout, _, err = runCLI(t, "__complete", "explain", "machine", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout, "machine.") {
		t.Errorf("completion of a second argument offers paths:\n%s", stdout)
	}
}
