package network_test

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/controllers/network"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// fakeAddresses is a fake Deps.Addresses whose answer tests change.
type fakeAddresses struct {
	mu    sync.Mutex
	addrs []netip.Prefix
	err   error
	polls int
}

func (f *fakeAddresses) get() ([]netip.Prefix, error) {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.polls++

	return slices.Clone(f.addrs), f.err
}

func (f *fakeAddresses) set(err error, cidrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.addrs, f.err = prefixes(cidrs...), err
}

func (f *fakeAddresses) pollCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()

	return f.polls
}

func prefixes(cidrs ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		out[i] = netip.MustParsePrefix(c)
	}

	return out
}

func fixedAddresses(cidrs ...string) func() ([]netip.Prefix, error) {
	return func() ([]netip.Prefix, error) { return prefixes(cidrs...), nil }
}

func nodeAddresses(t *testing.T, h *ctest.Harness) ([]string, uint64) {
	t.Helper()

	r := ctest.Get[resnet.NodeAddressesSpec](t, h.State, resnet.NamespaceName, resnet.NodeAddressesType, resnet.NodeAddressesID)
	if r == nil {
		return nil, 0
	}

	return r.TypedSpec().Addresses, r.Metadata().Version
}

func TestNodeAddressesUpdatedOnChangeOnly(t *testing.T) {
	fake := &fakeAddresses{}
	fake.set(nil, "192.168.1.1/24", "127.0.0.1/8", "fe80::1/64", "fd00::2/64", "10.5.0.2/24", "::1/128")

	h := ctest.New(t, &network.NodeAddressController{Addresses: fake.get, PollInterval: time.Millisecond})
	h.Start(t)

	want := []string{"10.5.0.2/24", "192.168.1.1/24", "fd00::2/64"}
	ctest.Eventually(t, "first addresses", func() bool { got, _ := nodeAddresses(t, h); return slices.Equal(got, want) })

	polls := fake.pollCount()
	ctest.Eventually(t, "more polls", func() bool { return fake.pollCount() >= polls+5 })

	if _, v := nodeAddresses(t, h); v != 1 {
		t.Fatalf("unchanged addresses bumped the version to %d", v)
	}

	// A failed poll keeps what is known.
	fake.set(errors.New("netlink is down"))
	polls = fake.pollCount()
	ctest.Eventually(t, "failed polls", func() bool { return fake.pollCount() >= polls+2 })
	ctest.Eventually(t, "failure logged", func() bool { return strings.Contains(h.Logs.String(), "netlink is down") })

	if got, v := nodeAddresses(t, h); v != 1 || !slices.Equal(got, want) {
		t.Fatalf("after failed polls: %v at version %d", got, v)
	}

	fake.set(nil, "10.5.0.3/24")
	ctest.Eventually(t, "new address", func() bool {
		got, v := nodeAddresses(t, h)

		return v == 2 && slices.Equal(got, []string{"10.5.0.3/24"})
	})
}

func TestNodeAddressesWithoutSource(t *testing.T) {
	h := ctest.New(t, &network.NodeAddressController{})
	h.Start(t)

	ctest.Eventually(t, "empty addresses", func() bool { _, v := nodeAddresses(t, h); return v == 1 })
}

func TestNormalizeAddresses(t *testing.T) {
	got := network.NormalizeAddresses(prefixes(
		"fd00::2/64", "10.5.0.2/24", "10.5.0.2/24", "::ffff:10.0.0.1/120", "0.0.0.0/0", "224.0.0.1/4", "169.254.1.1/16",
	))
	want := []string{"10.0.0.1/24", "10.5.0.2/24", "fd00::2/64"}

	if !slices.Equal(got, want) {
		t.Fatalf("NormalizeAddresses = %v, want %v", got, want)
	}
}

func TestEtcHosts(t *testing.T) {
	root := t.TempDir()
	h := ctest.New(t,
		&network.HostnameController{Root: root, MachineID: "abcdef"},
		&network.NodeAddressController{Addresses: fixedAddresses("10.5.0.2/24", "fd00::2/64")},
		&network.EtcHostsController{Root: root},
	)
	h.Start(t)

	m := configWithHostname("node1.example.com", nil)
	m.Machine.Network.ExtraHostEntries = []v1alpha1.HostEntry{{IP: "10.5.0.10", Aliases: []string{"registry", "registry.lan"}}}
	ctest.SetConfig(t, h.State, m)

	want := "127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"10.5.0.2\tnode1.example.com node1\n" +
		"10.5.0.10\tregistry registry.lan\n"
	hosts := filepath.Join(root, "etc", "hosts")

	ctest.Eventually(t, "/etc/hosts", func() bool { return readFile(t, hosts) == want })
}

func TestEtcHostsWithoutAddress(t *testing.T) {
	got := network.RenderHosts(network.SplitHostname("plinth-abc"), nil, nil)
	if !strings.Contains(got, "127.0.1.1\tplinth-abc\n") {
		t.Fatalf("hosts without address:\n%s", got)
	}
}

func TestContainerModeWritesInPlace(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "etc", "hostname")

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(path, []byte("docker-given\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	before := inode(t, path)

	h := ctest.New(t, &network.HostnameController{Root: root, Mode: validation.ModeContainer, MachineID: "abcdef"})
	h.Start(t)

	ctest.Eventually(t, "hostname written", func() bool { return readFile(t, path) == "plinth-abcdef\n" })

	if inode(t, path) != before {
		t.Fatal("container mode replaced the file instead of writing it in place")
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestInterfaceAddresses(t *testing.T) {
	got, err := network.InterfaceAddresses()
	if err != nil {
		t.Fatal(err)
	}

	for _, p := range got {
		if !p.IsValid() || (p.Addr().Is4() && p.Bits() > 32) {
			t.Errorf("invalid prefix %v", p)
		}
	}
}
