package k8s

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// nodeServiceConfig returns the ServiceConfig of id, or nil.
func nodeServiceConfig(t *testing.T, h *ctest.Harness, id string) *rtres.ServiceConfig {
	t.Helper()
	return ctest.Get[rtres.ServiceConfigSpec](t, h.State, rtres.NamespaceName, rtres.ServiceConfigType, id)
}

func TestContainerdController(t *testing.T) {
	root := t.TempDir()
	h := ctest.New(t, &ContainerdController{Root: root, Mode: validation.ModeContainer})
	h.Start(t)

	m := ctest.MachineConfig(v1alpha1.TypeWorker, nil)
	m.Machine.Registries = &v1alpha1.Registries{Mirrors: map[string]v1alpha1.Mirror{
		"docker.io": {Endpoints: []string{"http://10.5.0.1:5000/"}},
		"*":         {Endpoints: []string{"https://mirror.example"}},
	}}
	ctest.SetConfig(t, h.State, m)

	var first string
	ctest.Eventually(t, "containerd service config", func() bool {
		sc := nodeServiceConfig(t, h, ContainerdServiceID)
		if sc == nil {
			return false
		}
		first = sc.TypedSpec().ConfigHash
		return true
	})
	sc := nodeServiceConfig(t, h, ContainerdServiceID).TypedSpec()
	if sc.Args[0] != ContainerdBinary || sc.HealthCheck == nil || sc.HealthCheck.Socket != ContainerdSocket {
		t.Fatalf("spec = %+v", sc)
	}
	if sc.OOMScoreAdj != 0 {
		t.Fatalf("container mode lowers the OOM score: %d", sc.OOMScoreAdj)
	}

	cfg := readNodeFile(t, root, ContainerdConfigPath)
	for _, want := range []string{"version = 4", "restrict_oom_score_adj = true", `BinaryName = "/usr/bin/runc"`,
		"SystemdCgroup = false", `sandbox = "registry.k8s.io/pause:3.10"`, `config_path = "/etc/containerd/certs.d"`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config.toml lacks %q:\n%s", want, cfg)
		}
	}
	docker := readNodeFile(t, root, ContainerdCertsDir+"/docker.io/hosts.toml")
	if !strings.Contains(docker, `server = "https://registry-1.docker.io"`) || !strings.Contains(docker, `[host."http://10.5.0.1:5000"]`) {
		t.Errorf("docker.io hosts.toml:\n%s", docker)
	}
	if def := readNodeFile(t, root, ContainerdCertsDir+"/_default/hosts.toml"); strings.Contains(def, "server =") {
		t.Errorf("_default has a server:\n%s", def)
	}

	// Dropping a mirror removes its directory and changes the hash.
	m = ctest.MachineConfig(v1alpha1.TypeWorker, nil)
	m.Machine.Registries = &v1alpha1.Registries{Mirrors: map[string]v1alpha1.Mirror{
		"docker.io": {Endpoints: []string{"http://10.5.0.1:5000"}},
	}}
	ctest.SetConfig(t, h.State, m)
	ctest.Eventually(t, "new hash", func() bool {
		return nodeServiceConfig(t, h, ContainerdServiceID).TypedSpec().ConfigHash != first
	})
	if _, err := os.Stat(filepath.Join(root, ContainerdCertsDir, "_default")); !os.IsNotExist(err) {
		t.Fatalf("_default still there: %v", err)
	}

	ctest.DestroyConfig(t, h.State)
	ctest.Eventually(t, "service config removed", func() bool { return nodeServiceConfig(t, h, ContainerdServiceID) == nil })
}

func TestContainerdOnMetalLowersOOMScore(t *testing.T) {
	h := ctest.New(t, &ContainerdController{Root: t.TempDir(), Mode: validation.ModeMetal})
	h.Start(t)
	ctest.SetConfig(t, h.State, ctest.MachineConfig(v1alpha1.TypeControlPlane, nil))
	ctest.Eventually(t, "containerd service config", func() bool { return nodeServiceConfig(t, h, ContainerdServiceID) != nil })
	if got := nodeServiceConfig(t, h, ContainerdServiceID).TypedSpec().OOMScoreAdj; got != containerdOOMScoreAdj {
		t.Fatalf("OOMScoreAdj = %d", got)
	}
}

func TestRegistryHostsFilesRejects(t *testing.T) {
	for _, bad := range []v1alpha1.Registries{
		{Mirrors: map[string]v1alpha1.Mirror{"../etc": {Endpoints: []string{"http://x"}}}},
		{Mirrors: map[string]v1alpha1.Mirror{"docker.io": {Endpoints: []string{"ftp://x"}}}},
	} {
		if _, err := registryHostsFiles(&bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestContainerdAcceptsConfig has the real containerd parse the config
// (config dump), when the build cache has it.
func TestContainerdAcceptsConfig(t *testing.T) {
	bin := builtProgram(t, "containerd")
	dir := t.TempDir()
	cfg := strings.NewReplacer(ContainerdRoot, filepath.Join(dir, "root"), ContainerdState, filepath.Join(dir, "state")).
		Replace(string(renderContainerdConfig(containerdSettings{restrictOOMScoreAdj: true})))
	p := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--config", p, "config", "dump").CombinedOutput()
	if err != nil {
		t.Fatalf("containerd config dump: %v\n%s", err, out)
	}
	for _, want := range []string{"restrict_oom_score_adj = true", "BinaryName = '/usr/bin/runc'",
		"sandbox = 'registry.k8s.io/pause:3.10'", "bin_dirs = ['/opt/cni/bin']", "config_path = '/etc/containerd/certs.d'"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dump lacks %q", want)
		}
	}
}

// builtProgram returns _out/programs/<name> of this checkout (make
// programs), skipping the test when it is not built.
func builtProgram(t *testing.T, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "..", "_out", "programs", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not built (make programs): %v", name, err)
	}
	return p
}

func readNodeFile(t *testing.T, root, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
