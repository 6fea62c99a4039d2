package main

import (
	"os"
	"strings"
	"testing"
)

// nodeConfigFixture generates worker.yaml from the golden secrets in the
// fake node's directory, makes that the working directory and the file the
// node's current config. Call goldenHome before golden.
func nodeConfigFixture(t *testing.T, f *fakeNode) []byte {
	t.Helper()
	secretsPath := goldenSecrets(t)
	home, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	f.home = home
	t.Chdir(f.dir)
	genInto(t, secretsPath)
	worker, err := os.ReadFile("worker.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.machineConfig = worker
	f.mu.Unlock()
	return worker
}

// writeFile writes a file of the test's working directory.
func writeTestFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// transcriptWithCalls is run's transcript followed by the calls the node got.
func transcriptWithCalls(t *testing.T, f *fakeNode, args ...string) string {
	t.Helper()
	got := f.run(t, args...)
	if calls := f.recorded(); len(calls) > 0 {
		got += "--- calls\n" + strings.Join(calls, "\n") + "\n"
	}
	return got
}

func TestApplyConfig(t *testing.T) {
	hostname := `--config-patch={"machine": {"network": {"hostname": "worker-7"}}}`
	tests := []struct {
		golden string
		args   []string
	}{
		{"dry-run-fanout", []string{"apply-config", "-f", "worker.yaml", hostname, "--dry-run", "-n", "10.5.0.2,10.5.0.9"}},
		{"dry-run-no-changes", []string{"apply-config", "-f", "worker.yaml", "--dry-run"}},
		{"mode-try", []string{"apply-config", "-f", "worker.yaml", "--mode", "try", "--timeout", "2m"}},
		{"staged", []string{"apply-config", "-f", "-", "--mode", "staged"}},
		{"invalid", []string{"apply-config", "-f", "broken.yaml"}},
		{"invalid-patch", []string{"apply-config", "-f", "worker.yaml", `--config-patch={"machine": {"network": {"hostname": "bad_host!"}}}`}},
		{"missing-file", []string{"apply-config", "-f", "nope.yaml"}},
		{"bad-mode", []string{"apply-config", "-f", "worker.yaml", "--mode", "sometimes"}},
		{"timeout-without-try", []string{"apply-config", "-f", "worker.yaml", "--timeout", "1m"}},
		{"fingerprint-without-insecure", []string{"apply-config", "-f", "worker.yaml", "--cert-fingerprint", "AB:CD"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			f := newFakeNode(t)
			worker := nodeConfigFixture(t, f)
			writeTestFile(t, "broken.yaml", strings.Replace(string(worker), "  type: worker\n", "  type: worker\n  certSANs: [not_a_name]\n", 1))
			var stdin strings.Builder
			if tt.args[2] == "-" {
				stdin.WriteString(string(worker))
			}
			withStdin(t, stdin.String())
			got := transcriptWithCalls(t, f, tt.args...)
			f.goldenHome(t, "apply-config/"+tt.golden+".txt", got)
		})
	}
}

func TestApplyConfigInsecure(t *testing.T) {
	f, fingerprint := newMaintenanceFake(t)
	nodeConfigFixture(t, f)
	var got strings.Builder
	for _, args := range [][]string{
		{"apply-config", "-f", "worker.yaml", "--insecure", "--cert-fingerprint", fingerprint, "-n", f.Addr},
		{"apply-config", "-f", "worker.yaml", "--insecure", "-n", f.Addr},
		{"apply-config", "-f", "worker.yaml", "--insecure", "--cert-fingerprint", strings.Repeat("0", 64), "-n", f.Addr},
		{"apply-config", "-f", "worker.yaml", "-i", "--dry-run", "-e", f.Addr},
		{"apply-config", "-f", "worker.yaml", "-i"},
		// Without --insecure the node's self-signed certificate is refused.
		{"apply-config", "-f", "worker.yaml", "-e", f.Addr},
	} {
		got.WriteString(strings.ReplaceAll(transcriptWithCalls(t, f, args...), fingerprint, "$FINGERPRINT"))
	}
	f.goldenHome(t, "apply-config/insecure.txt", got.String())
}

// withStdin makes os.Stdin read content until the test ends.
func withStdin(t *testing.T, content string) {
	t.Helper()
	path := t.TempDir() + "/stdin"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = in
	t.Cleanup(func() {
		os.Stdin = old
		_ = in.Close()
	})
}

// goldenHome compares got with a golden file of the package, after going
// back to the package's directory.
func (f *fakeNode) goldenHome(t *testing.T, name, got string) {
	t.Helper()
	if f.home != "" {
		if err := os.Chdir(f.home); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, name, []byte(got))
}
