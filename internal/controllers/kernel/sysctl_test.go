package kernel_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/controllers/kernel"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	reskernel "github.com/plinth-os/plinth/pkg/machinery/resources/kernel"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParamsPerMode(t *testing.T) {
	config := map[string]string{"net.ipv4.ip_forward": "0", "vm.swappiness": "10", "net.core.somaxconn": "4096"}
	for _, mode := range []validation.Mode{validation.ModeMetal, validation.ModeContainer} {
		params := kernel.Params(config, nil, mode)
		if len(params) != len(kernel.Defaults)+2 {
			t.Fatalf("%s: %d params", mode, len(params))
		}
		byKey := map[string]kernel.Param{}
		for i, p := range params {
			byKey[p.Key] = p
			if i > 0 && params[i-1].Key >= p.Key {
				t.Fatalf("%s: params not sorted at %s", mode, p.Key)
			}
		}
		if p := byKey["net.ipv4.ip_forward"]; p.Value != "0" || p.Origin != reskernel.OriginConfig || p.Skipped {
			t.Errorf("%s: override %+v", mode, p)
		}
		if p := byKey["kernel.kptr_restrict"]; p.Value != "1" || p.Origin != reskernel.OriginDefault {
			t.Errorf("%s: default %+v", mode, p)
		}
		for _, p := range params {
			hostWide := !strings.HasPrefix(p.Key, "net.")
			if want := mode == validation.ModeContainer && hostWide; p.Skipped != want {
				t.Errorf("%s: %s skipped = %v, want %v", mode, p.Key, p.Skipped, want)
			}
		}
	}
}

func TestParamsKeepCommandLineKeys(t *testing.T) {
	params := kernel.Params(map[string]string{"vm.swappiness": "1"}, []string{"kernel.panic", "vm.swappiness"}, validation.ModeMetal)
	for _, p := range params {
		if p.Key == "kernel.panic" {
			t.Fatal("kernel.panic applied although the command line set panic=")
		}
	}
	if len(params) != len(kernel.Defaults) {
		t.Fatalf("%d params: the config's key must stay", len(params))
	}
}

func TestPath(t *testing.T) {
	for key, want := range map[string]string{
		"net.ipv4.ip_forward":              "/proc/sys/net/ipv4/ip_forward",
		"net/ipv4/conf/eth0.100/rp_filter": "/proc/sys/net/ipv4/conf/eth0.100/rp_filter",
		"kernel.yama.ptrace_scope":         "/proc/sys/kernel/yama/ptrace_scope",
		"../../etc/passwd":                 "/proc/sys/etc/passwd",
		"net/../../../../etc/shadow":       "/proc/sys/etc/shadow",
	} {
		if got := kernel.Path("/proc", key); got != want {
			t.Errorf("Path(%q) = %q, want %q", key, got, want)
		}
	}
}

// procSys creates <root>/proc/sys files for keys, each holding "x".
func procSys(t *testing.T, keys ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, k := range keys {
		p := kernel.Path(filepath.Join(root, "proc"), k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func value(t *testing.T, root, key string) string {
	t.Helper()
	b, err := os.ReadFile(kernel.Path(filepath.Join(root, "proc"), key))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func status(t *testing.T, h *ctest.Harness, key string) reskernel.KernelParamStatusSpec {
	t.Helper()
	r := ctest.Get[reskernel.KernelParamStatusSpec](t, h.State, reskernel.NamespaceName, reskernel.KernelParamStatusType, key)
	if r == nil {
		return reskernel.KernelParamStatusSpec{}
	}
	return *r.TypedSpec()
}

func sysctlConfig(s map[string]string) *v1alpha1.MachineConfig {
	m := ctest.MachineConfig(v1alpha1.TypeWorker, nil)
	m.Machine.Sysctls = s
	return m
}

func TestMetalWritesDefaultsAndConfig(t *testing.T) {
	root := procSys(t, "net.ipv4.ip_forward", "kernel.kptr_restrict", "vm.swappiness")
	h := ctest.New(t, &kernel.SysctlController{Root: root, Mode: validation.ModeMetal})
	h.Start(t)
	ctest.Eventually(t, "defaults written", func() bool {
		return value(t, root, "net.ipv4.ip_forward") == "1" && value(t, root, "kernel.kptr_restrict") == "1"
	})
	if s := status(t, h, "kernel.kptr_restrict"); !s.Applied || s.Error != "" || s.Origin != reskernel.OriginDefault {
		t.Fatalf("status %+v", s)
	}
	ctest.Eventually(t, "missing key reported", func() bool {
		s := status(t, h, "kernel.yama.ptrace_scope")
		return !s.Applied && strings.Contains(s.Error, "no such kernel parameter")
	})

	ctest.SetConfig(t, h.State, sysctlConfig(map[string]string{"vm.swappiness": "10", "net.ipv4.ip_forward": "0"}))
	ctest.Eventually(t, "config written", func() bool {
		return value(t, root, "vm.swappiness") == "10" && value(t, root, "net.ipv4.ip_forward") == "0" &&
			status(t, h, "vm.swappiness").Applied
	})
	ctest.SetConfig(t, h.State, sysctlConfig(nil))
	ctest.Eventually(t, "default back, config key's status gone", func() bool {
		return value(t, root, "net.ipv4.ip_forward") == "1" && status(t, h, "vm.swappiness").Key == ""
	})
	if got := value(t, root, "vm.swappiness"); got != "10" {
		t.Fatalf("a key that left the config was changed to %q", got)
	}
	if n := logLines(h, "kernel parameter not set", "key=kernel.yama.ptrace_scope"); n != 1 {
		t.Fatalf("missing key logged %d times:\n%s", n, h.Logs.String())
	}
}

func TestContainerWritesOnlyNetworkKeys(t *testing.T) {
	root := procSys(t, "net.ipv4.ip_forward", "vm.overcommit_memory", "kernel.panic", "net.core.somaxconn")
	h := ctest.New(t, &kernel.SysctlController{Root: root, Mode: validation.ModeContainer})
	h.Start(t)
	ctest.SetConfig(t, h.State, sysctlConfig(map[string]string{"net.core.somaxconn": "4096", "kernel.panic": "0"}))
	ctest.Eventually(t, "net keys written", func() bool {
		return value(t, root, "net.ipv4.ip_forward") == "1" && value(t, root, "net.core.somaxconn") == "4096"
	})
	ctest.Eventually(t, "host keys skipped", func() bool {
		s := status(t, h, "vm.overcommit_memory")
		return s.Skipped && !s.Applied && status(t, h, "kernel.panic").Skipped
	})
	if value(t, root, "vm.overcommit_memory") != "x" || value(t, root, "kernel.panic") != "x" {
		t.Fatal("container mode changed a host-wide kernel parameter")
	}
	ctest.SetConfig(t, h.State, sysctlConfig(map[string]string{"net.core.somaxconn": "8192", "kernel.panic": "0"}))
	ctest.Eventually(t, "second config", func() bool { return value(t, root, "net.core.somaxconn") == "8192" })
	if n := logLines(h, "skipped in container mode", "key=kernel.panic "); n != 1 {
		t.Fatalf("skipped key logged %d times:\n%s", n, h.Logs.String())
	}
}

// logLines counts the log lines holding every one of parts.
func logLines(h *ctest.Harness, parts ...string) int {
	n := 0
	for _, line := range strings.Split(h.Logs.String(), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line+" ", p)
		}
		if all {
			n++
		}
	}
	return n
}
