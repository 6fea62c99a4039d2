package modules

import (
	"reflect"
	"strings"
	"testing"
)

const dep = `kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/net/core/failover.ko:
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/fs/squashfs/squashfs.ko:
`

func index(t *testing.T) *Index {
	t.Helper()
	ix, err := ParseDep(strings.NewReader(dep))
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.AddBuiltin(strings.NewReader("kernel/fs/ext4/ext4.ko\n")); err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestResolveOrder(t *testing.T) {
	plan, err := index(t).Resolve([]string{"virtio_net", "virtio-pci", "virtio_rng", "ext4", "squashfs", "virtio_net"})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, p := range plan.Paths {
		if _, dup := pos[p]; dup {
			t.Fatalf("%s twice in %q", p, plan.Paths)
		}
		pos[p] = i
	}
	ix := index(t)
	for mod, deps := range ix.deps {
		if _, ok := pos[mod]; !ok {
			continue
		}
		for _, d := range deps {
			if pd, ok := pos[d]; !ok || pd > pos[mod] {
				t.Errorf("%s loads before its dependency %s: %q", mod, d, plan.Paths)
			}
		}
	}
	if len(plan.Paths) != 10 {
		t.Errorf("got %d modules, want 10: %q", len(plan.Paths), plan.Paths)
	}
	if !reflect.DeepEqual(plan.Builtin, []string{"ext4"}) {
		t.Errorf("builtin %q, want [ext4]", plan.Builtin)
	}
	if plan.Paths[0] != "kernel/net/core/failover.ko" {
		t.Errorf("order is not deterministic by dependency name: %q", plan.Paths)
	}
}

func TestResolveErrors(t *testing.T) {
	if _, err := index(t).Resolve([]string{"e1000", "virtio", "9p"}); err == nil || !strings.Contains(err.Error(), "e1000, 9p") {
		t.Errorf("unknown modules: got %v", err)
	}
	cyc, err := ParseDep(strings.NewReader("a.ko: b.ko\nb.ko: a.ko\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cyc.Resolve([]string{"a"}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: got %v", err)
	}
}

func TestParseDepErrors(t *testing.T) {
	for name, in := range map[string]string{
		"no colon":   "kernel/a.ko\n",
		"duplicate":  "a.ko:\na.ko:\n",
		"dangling":   "a.ko: b.ko\n",
		"empty name": ": b.ko\n",
	} {
		if _, err := ParseDep(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/drivers/char/hw_random/virtio-rng.ko": "virtio_rng",
		"kernel/fs/overlayfs/overlay.ko.xz":           "overlay",
		"loop":                                        "loop",
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteDep(t *testing.T) {
	ix := index(t)
	plan, err := ix.Resolve([]string{"virtio_net", "squashfs"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := ix.WriteDep(&b, plan.Paths); err != nil {
		t.Fatal(err)
	}
	want := `kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/fs/squashfs/squashfs.ko:
kernel/net/core/failover.ko:
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	sub, err := ParseDep(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	again, err := sub.Resolve([]string{"virtio_net", "squashfs"})
	if err != nil || !reflect.DeepEqual(again.Paths, plan.Paths) {
		t.Errorf("subset resolves to %q (%v), want %q", again.Paths, err, plan.Paths)
	}
	if err := ix.WriteDep(&b, []string{"kernel/drivers/virtio/virtio.ko"}); err == nil || !strings.Contains(err.Error(), "virtio_ring.ko") {
		t.Errorf("missing dependency: got %v", err)
	}
	if err := ix.WriteDep(&b, []string{"kernel/nope.ko"}); err == nil || !strings.Contains(err.Error(), "kernel/nope.ko") {
		t.Errorf("unknown path: got %v", err)
	}
}
