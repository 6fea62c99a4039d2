package k8s

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/sys/netlink/nettest"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
)

// fakeMasquerader records what it was asked.
type fakeMasquerader struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeMasquerader) Apply(p []netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprint("apply ", p))
	return nil
}

func (f *fakeMasquerader) Remove() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "remove")
	return nil
}

func (f *fakeMasquerader) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func TestMasqueradeController(t *testing.T) {
	f := &fakeMasquerader{}
	h := ctest.New(t, &MasqueradeController{Masquerader: f})
	h.Start(t)
	ctest.SetConfig(t, h.State, ctest.MachineConfig(v1alpha1.TypeWorker, nil))
	ctest.Eventually(t, "applied", func() bool { return len(f.got()) == 1 })
	ctest.SetConfig(t, h.State, ctest.MachineConfig(v1alpha1.TypeWorker, nil)) // unchanged: nothing
	m := ctest.MachineConfig(v1alpha1.TypeWorker, nil)
	m.Cluster.Network = &v1alpha1.ClusterNetwork{CNI: &v1alpha1.CNI{Name: "none"}}
	ctest.SetConfig(t, h.State, m)
	ctest.Eventually(t, "removed", func() bool { return len(f.got()) == 2 })
	if got := f.got(); got[0] != "apply [10.244.0.0/16]" || got[1] != "remove" {
		t.Fatalf("calls %v", got)
	}
}

// TestNFTMasqueraderInNamespace installs the rules in a fresh network
// namespace and reads them back with nft, when the host has it.
func TestNFTMasqueraderInNamespace(t *testing.T) {
	ns := nettest.Namespace(t)
	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Skip("no nft program to read the rules back")
	}
	m := NFTMasquerader{NetNSFd: int(ns)}
	subnets := []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16"), netip.MustParsePrefix("fd00:10:244::/56")}
	for range 2 { // twice: Apply replaces
		if err := m.Apply(subnets); err != nil {
			t.Fatal(err)
		}
	}
	list := func() string {
		out, err := exec.Command("nsenter", fmt.Sprintf("--net=/proc/%d/fd/%d", os.Getpid(), int(ns)), nft, "list", "ruleset").CombinedOutput()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("nft: %v\n%s", err, out)
			}
			t.Skipf("cannot enter the namespace: %v", err)
		}
		return string(out)
	}
	got := list()
	for _, want := range []string{
		"ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade",
		"ip6 saddr fd00:10:244::/56 ip6 daddr != fd00:10:244::/56 ip6 daddr != ff00::/8 masquerade",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ruleset lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "masquerade") != 2 {
		t.Errorf("rules not replaced:\n%s", got)
	}
	if err := m.Remove(); err != nil {
		t.Fatal(err)
	}
	if got := list(); strings.Contains(got, PodEgressTable) {
		t.Fatalf("tables left:\n%s", got)
	}
}
