package main

import (
	"os"
	"strings"
	"testing"
)

// genInto writes a generated controlplane.yaml and worker.yaml from
// the golden secrets into the current (temporary) directory.
func genInto(t *testing.T, secretsPath string) {
	t.Helper()
	mustRun(t, "gen", "config", "demo", "https://10.5.0.2:6443", "--with-secrets", secretsPath, "--output-types", "controlplane,worker")
}

func TestMachineConfigPatch(t *testing.T) {
	secretsPath := goldenSecrets(t)
	inTempDir(t)
	genInto(t, secretsPath)
	if err := os.WriteFile("p.yaml", []byte("machine:\n  network:\n    hostname: worker-1\n    interfaces:\n      - interface: eth0\n        dhcp: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "machineconfig", "patch", "worker.yaml", "--patch", "@p.yaml",
		"--patch", `[{"op": "add", "path": "/machine/network/interfaces/0/mtu", "value": 1400}]`)
	for _, w := range []string{"hostname: worker-1", "interface: eth0", "dhcp: true", "mtu: 1400", "kind: MachineConfig"} {
		if !strings.Contains(out, w) {
			t.Errorf("patched config lacks %q:\n%s", w, out)
		}
	}
	// -o writes the file, which then validates.
	mustRun(t, "mc", "patch", "worker.yaml", "-p", "@p.yaml", "-o", "worker-1.yaml")
	assertFile(t, "worker-1.yaml", 0o600)
	if v := mustRun(t, "validate", "-c", "worker-1.yaml"); v != "worker-1.yaml is valid for metal mode\n" {
		t.Errorf("validate: %q", v)
	}
	// A patch producing an invalid config writes nothing.
	_, _, err := runCLI(t, "mc", "patch", "worker.yaml", "-p", "machine: {network: {interfaces: [{interface: eth0, addresses: [10.5.0.3]}]}}", "-o", "bad.yaml")
	if err == nil || !strings.Contains(err.Error(), "machine.network.interfaces[0].addresses[0]") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat("bad.yaml"); !os.IsNotExist(err) {
		t.Error("bad.yaml written")
	}
}

func TestValidateOutput(t *testing.T) {
	secretsPath := goldenSecrets(t)
	var stdout string
	t.Run("run", func(t *testing.T) {
		inTempDir(t)
		genInto(t, secretsPath)
		cp := readFile(t, "controlplane.yaml")
		cp = strings.Replace(cp, "  type: controlplane\n", "  type: controlplane\n  certSANs: [10.5.0.2, not_a_name]\n  network:\n    interfaces:\n      - interface: eth0\n        addresses: [10.5.0.2]\n", 1)
		cp = strings.Replace(cp, "endpoint: https://10.5.0.2:6443", "endpoint: http://10.5.0.2:6443", 1)
		if err := os.WriteFile("broken.yaml", []byte(cp), 0o644); err != nil {
			t.Fatal(err)
		}
		var err error
		stdout, _, err = runCLI(t, "validate", "-c", "broken.yaml", "-c", "worker.yaml")
		if err == nil || err.Error() != "1 of 2 configs failed validation" {
			t.Errorf("err = %v", err)
		}
	})
	golden(t, "validate/broken.out", []byte(stdout))
}
