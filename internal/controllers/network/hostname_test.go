package network_test

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/controllers/network"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// recorder is a fake SetHostname.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) set(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()

	r.calls = append(r.calls, name)

	return nil
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()

	return slices.Clone(r.calls)
}

func hostname(t *testing.T, h *ctest.Harness) resnet.HostnameSpec {
	t.Helper()

	r := ctest.Get[resnet.HostnameSpec](t, h.State, resnet.NamespaceName, resnet.HostnameType, resnet.HostnameID)
	if r == nil {
		return resnet.HostnameSpec{}
	}

	return *r.TypedSpec()
}

func readFile(t *testing.T, path string) string {
	t.Helper()

	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}

	return string(b)
}

func configWithHostname(name string, env map[string]string) *v1alpha1.MachineConfig {
	m := ctest.MachineConfig(v1alpha1.TypeWorker, nil)
	m.Machine.Network.Hostname = name
	m.Machine.Env = env

	return m
}

func TestHostnameDefaultThenConfigured(t *testing.T) {
	root := t.TempDir()
	rec := &recorder{}
	h := ctest.New(t, &network.HostnameController{Root: root, MachineID: "ABC-123def", SetHostname: rec.set})
	h.Start(t)

	etcHostname := filepath.Join(root, "etc", "hostname")

	ctest.Eventually(t, "default hostname", func() bool { return readFile(t, etcHostname) == "plinth-abc123\n" })

	if got := hostname(t, h); got != (resnet.HostnameSpec{Hostname: "plinth-abc123", FQDN: "plinth-abc123"}) {
		t.Fatalf("default hostname resource %+v", got)
	}

	ctest.SetConfig(t, h.State, configWithHostname("node1.example.com", nil))
	ctest.Eventually(t, "configured hostname", func() bool { return readFile(t, etcHostname) == "node1\n" })

	want := resnet.HostnameSpec{Hostname: "node1", Domainname: "example.com", FQDN: "node1.example.com"}
	if got := hostname(t, h); got != want {
		t.Fatalf("configured hostname %+v, want %+v", got, want)
	}

	// An unrelated change re-runs the controller without a new SetHostname.
	ctest.SetConfig(t, h.State, configWithHostname("node1.example.com", map[string]string{"A": "b"}))
	ctest.SetConfig(t, h.State, configWithHostname("node2", map[string]string{"A": "b"}))
	ctest.Eventually(t, "second hostname", func() bool { return readFile(t, etcHostname) == "node2\n" })
	ctest.Eventually(t, "SetHostname(node2)", func() bool { return len(rec.get()) == 3 })

	if got, want := rec.get(), []string{"plinth-abc123", "node1", "node2"}; !slices.Equal(got, want) {
		t.Fatalf("SetHostname calls %q, want %q", got, want)
	}

	ctest.DestroyConfig(t, h.State)
	ctest.Eventually(t, "back to the default", func() bool { return readFile(t, etcHostname) == "plinth-abc123\n" })
}

func TestHostnameFromAddress(t *testing.T) {
	root := t.TempDir()
	h := ctest.New(t,
		&network.HostnameController{Root: root, MachineID: "abcdef"},
		&network.NodeAddressController{Addresses: fixedAddresses("10.5.0.2/24")},
	)
	h.Start(t)

	stable := false
	m := ctest.MachineConfig(v1alpha1.TypeWorker, nil)
	m.Machine.Features = &v1alpha1.Features{StableHostname: &stable}
	ctest.SetConfig(t, h.State, m)

	ctest.Eventually(t, "hostname from the address", func() bool { return hostname(t, h).Hostname == "plinth-10-5-0-2" })
}

func TestDefaultHostname(t *testing.T) {
	for id, want := range map[string]string{
		"0123456789abcdef": "plinth-012345",
		"AB-CD_ef.gh":      "plinth-abcdef",
		"x1":               "plinth-x1",
		"":                 "plinth",
		"---":              "plinth",
	} {
		if got := network.DefaultHostname(id); got != want {
			t.Errorf("DefaultHostname(%q) = %q, want %q", id, got, want)
		}
	}
}
