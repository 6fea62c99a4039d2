package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenSecrets is the fixed secrets bundle pinned by TestGenGolden.
func goldenSecrets(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("testdata/gen/secrets-secrets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGenConfigGolden(t *testing.T) {
	secretsPath := goldenSecrets(t)
	got := map[string][]byte{}
	t.Run("run", func(t *testing.T) {
		inTempDir(t)
		fixGenInputs(t)
		if err := os.WriteFile("worker-patch.yaml", []byte("machine:\n  nodeLabels:\n    role: edge\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := mustRun(t, "gen", "config", "demo", "https://10.5.0.2:6443", "--with-secrets", secretsPath,
			"--install-disk", "/dev/vda",
			"--config-patch", `{"machine": {"time": {"servers": ["10.5.0.1"]}}}`,
			"--config-patch-control-plane", `[{"op": "add", "path": "/cluster/allowSchedulingOnControlPlanes", "value": true}]`,
			"--config-patch-worker", "@worker-patch.yaml")
		got["out"] = []byte(out)
		for _, f := range []string{"controlplane.yaml", "worker.yaml", "plinthconfig"} {
			got[f] = assertFile(t, f, 0o600)
		}
	})
	for name, data := range got {
		golden(t, "gen_config/"+name, data)
	}
}

func TestGenConfigRefusesOverwrite(t *testing.T) {
	inTempDir(t)
	mustRun(t, "gen", "config", "demo", "https://10.5.0.2:6443", "--output-types", "worker")
	before := readFile(t, "worker.yaml")
	_, _, err := runCLI(t, "gen", "config", "demo", "https://10.5.0.2:6443")
	if err == nil || err.Error() != "worker.yaml already exists; use --force to overwrite (nothing was written)" {
		t.Fatalf("err = %v", err)
	}
	if readFile(t, "worker.yaml") != before {
		t.Error("worker.yaml changed")
	}
	if _, err := os.Stat("controlplane.yaml"); !os.IsNotExist(err) {
		t.Error("controlplane.yaml written although gen config failed")
	}
	mustRun(t, "gen", "config", "demo", "https://10.5.0.2:6443", "--force")
	if readFile(t, "worker.yaml") == before {
		t.Error("--force did not replace worker.yaml")
	}
}

func TestGenConfigErrors(t *testing.T) {
	secretsPath := goldenSecrets(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"endpoint without scheme", []string{"demo", "10.5.0.2"}, []string{`endpoint "10.5.0.2" is not an https URL`, "https://10.5.0.2:6443"}},
		{"bad cluster name", []string{"Demo", "https://10.5.0.2:6443"}, []string{`cluster name "Demo" is not a DNS label`}},
		{"patch makes config invalid", []string{"demo", "https://10.5.0.2:6443", "--config-patch", "machine: {network: {hostname: Bad_Name}}"},
			[]string{"controlplane.yaml is invalid (1 problem):", "controlplane.yaml:", "machine.network.hostname", `"Bad_Name" is not a valid hostname`}},
		{"patch unknown field", []string{"demo", "https://10.5.0.2:6443", "--config-patch-worker", "machine: {netwrk: {}}"},
			[]string{"worker.yaml is invalid", `unknown field "netwrk"`}},
		{"json patch fails", []string{"demo", "https://10.5.0.2:6443", "--config-patch", `[{"op": "replace", "path": "/machine/nothing", "value": 1}]`},
			[]string{"json patch op 1 (replace /machine/nothing)"}},
		{"patch file missing", []string{"demo", "https://10.5.0.2:6443", "--config-patch", "@nope.yaml"}, []string{"--config-patch", "nope.yaml"}},
		{"bad output type", []string{"demo", "https://10.5.0.2:6443", "--output-types", "talosconfig"}, []string{`unknown type "talosconfig"`}},
		{"bad mode", []string{"demo", "https://10.5.0.2:6443", "--mode", "cloud"}, []string{`unknown mode "cloud"`}},
		{"container mode install disk", []string{"demo", "https://10.5.0.2:6443", "--mode", "container", "--install-disk", "/dev/vda"},
			[]string{"machine.install.disk", "container-mode node cannot be installed"}},
		{"bad secrets", []string{"demo", "https://10.5.0.2:6443", "--with-secrets", "missing.yaml"}, []string{"--with-secrets"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inTempDir(t)
			args := append([]string{"gen", "config"}, tc.args...)
			if tc.name != "bad secrets" {
				args = append(args, "--with-secrets", secretsPath)
			}
			_, _, err := runCLI(t, args...)
			if err == nil {
				t.Fatal("gen config succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if files := listDir(t, "."); len(files) != 0 {
				t.Errorf("files written although gen config failed: %v", files)
			}
		})
	}
}
