package imager

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/imager/inputs"
	"github.com/plinth-os/plinth/pkg/imager/layout"
	"github.com/plinth-os/plinth/pkg/imager/modules"
	"github.com/plinth-os/plinth/pkg/imager/rootfs"
)

const (
	testRelease = "6.1.0-test-amd64"
	testKernel  = "linux-image-test"
	testSHA     = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// fakeDep is a kernel's modules.dep: vxlan, udp_tunnel and squashfs are
// never requested, so they must not be shipped.
const fakeDep = `kernel/net/netfilter/x_tables.ko:
kernel/net/netfilter/xt_comment.ko: kernel/net/netfilter/x_tables.ko
kernel/net/llc/llc.ko:
kernel/net/802/stp.ko: kernel/net/llc/llc.ko
kernel/net/bridge/bridge.ko: kernel/net/802/stp.ko kernel/net/llc/llc.ko
kernel/net/bridge/br_netfilter.ko: kernel/net/bridge/bridge.ko kernel/net/802/stp.ko kernel/net/llc/llc.ko
kernel/drivers/net/veth.ko:
kernel/net/ipv4/udp_tunnel.ko:
kernel/drivers/net/vxlan/vxlan.ko: kernel/net/ipv4/udp_tunnel.ko
kernel/fs/squashfs/squashfs.ko:
`

const fakeBuiltin = "kernel/net/packet/af_packet.ko\nkernel/fs/ext4/ext4.ko\n"

// testNames are kernel.rootfsModules of the tests; af_packet is built in.
var testNames = []string{"br_netfilter", "xt_comment", "af_packet", "veth"}

// fakeKernelTree writes <dir>/lib/modules/<release> with modules.dep,
// modules.builtin and a small file per module.
func fakeKernelTree(t *testing.T, dir string) string {
	t.Helper()
	mods := filepath.Join(dir, "lib", "modules", testRelease)
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(mods, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("modules.dep", fakeDep)
	write("modules.builtin", fakeBuiltin)
	for _, line := range strings.Split(strings.TrimSpace(fakeDep), "\n") {
		ko, _, _ := strings.Cut(line, ":")
		write(ko, "ELF "+modules.Name(ko))
	}
	return dir
}

func TestPlanRootfsModules(t *testing.T) {
	tree := fakeKernelTree(t, t.TempDir())
	m, err := planRootfsModules(tree, "deb:"+testKernel+"/", testRelease, testNames)
	if err != nil {
		t.Fatal(err)
	}
	wantPaths := []string{
		"kernel/net/llc/llc.ko", "kernel/net/802/stp.ko", "kernel/net/bridge/bridge.ko",
		"kernel/net/bridge/br_netfilter.ko", "kernel/net/netfilter/x_tables.ko",
		"kernel/net/netfilter/xt_comment.ko", "kernel/drivers/net/veth.ko",
	}
	if !reflect.DeepEqual(m.Plan.Paths, wantPaths) || !reflect.DeepEqual(m.Plan.Builtin, []string{"af_packet"}) {
		t.Fatalf("plan %q builtin %q, want %q and [af_packet]", m.Plan.Paths, m.Plan.Builtin, wantPaths)
	}

	// Stage the entries on a small allowlist, as the rootfs step does.
	list, err := rootfs.Parse(strings.NewReader("dir /usr 0755\ndir /usr/lib 0755\nfile /usr/lib/os-release 0644 empty\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := list.Add(m.Entries...); err != nil {
		t.Fatal(err)
	}
	src := rootfs.SourceMap{Dirs: map[string]string{"deb:" + testKernel + "/": tree}, Files: m.Files}
	root := filepath.Join(t.TempDir(), "root")
	if err := rootfs.Stage(list, src, root); err != nil {
		t.Fatal(err)
	}
	lines, err := rootfs.Manifest(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		got = append(got, l.String()[:7]+strings.Fields(l.String())[4])
	}
	dir := "/usr/lib/modules/" + testRelease
	want := []string{
		"d 0755 /usr", "d 0755 /usr/lib", "d 0755 /usr/lib/modules", "d 0755 " + dir,
		"d 0755 " + dir + "/kernel",
		"d 0755 " + dir + "/kernel/drivers", "d 0755 " + dir + "/kernel/drivers/net",
		"f 0644 " + dir + "/kernel/drivers/net/veth.ko",
		"d 0755 " + dir + "/kernel/net", "d 0755 " + dir + "/kernel/net/802",
		"f 0644 " + dir + "/kernel/net/802/stp.ko",
		"d 0755 " + dir + "/kernel/net/bridge",
		"f 0644 " + dir + "/kernel/net/bridge/br_netfilter.ko",
		"f 0644 " + dir + "/kernel/net/bridge/bridge.ko",
		"d 0755 " + dir + "/kernel/net/llc", "f 0644 " + dir + "/kernel/net/llc/llc.ko",
		"d 0755 " + dir + "/kernel/net/netfilter",
		"f 0644 " + dir + "/kernel/net/netfilter/x_tables.ko",
		"f 0644 " + dir + "/kernel/net/netfilter/xt_comment.ko",
		"f 0644 " + dir + "/kubernetes.modules", "f 0644 " + dir + "/modules.builtin",
		"f 0644 " + dir + "/modules.dep", "f 0644 /usr/lib/os-release",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("staged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	wantDep := `kernel/drivers/net/veth.ko:
kernel/net/802/stp.ko: kernel/net/llc/llc.ko
kernel/net/bridge/br_netfilter.ko: kernel/net/bridge/bridge.ko kernel/net/802/stp.ko kernel/net/llc/llc.ko
kernel/net/bridge/bridge.ko: kernel/net/802/stp.ko kernel/net/llc/llc.ko
kernel/net/llc/llc.ko:
kernel/net/netfilter/x_tables.ko:
kernel/net/netfilter/xt_comment.ko: kernel/net/netfilter/x_tables.ko
`
	if got := read("modules.dep"); got != wantDep {
		t.Errorf("modules.dep:\n%s\nwant:\n%s", got, wantDep)
	}
	if got := read("modules.builtin"); got != fakeBuiltin {
		t.Errorf("modules.builtin %q, want the package's", got)
	}
	if got := read("kernel/net/bridge/bridge.ko"); got != "ELF bridge" {
		t.Errorf("bridge.ko holds %q", got)
	}
	kube := read(layout.KubernetesModules)
	header, body, _ := strings.Cut(kube, "\n")
	if !strings.HasPrefix(header, "# ") || body != "br_netfilter\nxt_comment\naf_packet\nveth\n" {
		t.Errorf("%s:\n%s", layout.KubernetesModules, kube)
	}

	// What machined does on the node: load the rootfs's index and resolve.
	ix, err := modules.Load(filepath.Join(root, "usr"), testRelease)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := ix.Resolve(testNames)
	if err != nil || !reflect.DeepEqual(plan, m.Plan) {
		t.Errorf("on the node: %+v (%v), want %+v", plan, err, m.Plan)
	}
	if _, err := ix.Resolve([]string{"vxlan"}); err == nil {
		t.Error("the rootfs index resolves vxlan, which is not shipped")
	}
}

func TestPlanRootfsModulesEmpty(t *testing.T) {
	m, err := planRootfsModules(t.TempDir(), "deb:"+testKernel+"/", testRelease, nil)
	if err != nil || len(m.Entries) != 0 || len(m.Files) != 0 || len(m.Plan.Paths) != 0 {
		t.Fatalf("no modules: %+v, %v", m, err)
	}
}

func TestPlanRootfsModulesErrors(t *testing.T) {
	tree := fakeKernelTree(t, t.TempDir())
	_, err := planRootfsModules(tree, "deb:"+testKernel+"/", testRelease, []string{"veth", "nf_bogus", "xt_nope"})
	if err == nil || !strings.Contains(err.Error(), "kernel.rootfsModules") || !strings.Contains(err.Error(), "nf_bogus, xt_nope") {
		t.Errorf("unknown modules: got %v", err)
	}
	if _, err := planRootfsModules(tree, "deb:"+testKernel+"/", "6.1.0-other", []string{"veth"}); err == nil || !strings.Contains(err.Error(), "modules.dep") {
		t.Errorf("missing release: got %v", err)
	}
	m, err := planRootfsModules(tree, "deb:"+testKernel+"/", testRelease, []string{"veth"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := rootfs.Parse(strings.NewReader("dir /usr 0755\ndir /usr/lib 0755\ndir /usr/lib/modules 0755\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := list.Add(m.Entries...); err == nil || !strings.Contains(err.Error(), "/usr/lib/modules already listed on line 3") {
		t.Errorf("allowlist listing /usr/lib/modules: got %v", err)
	}
}

// testBuilder is a builder whose cache already holds the fake kernel tree.
func testBuilder(t *testing.T, names []string) *builder {
	t.Helper()
	cache := t.TempDir()
	tree := fakeKernelTree(t, filepath.Join(cache, "tree", testSHA))
	if err := os.WriteFile(filepath.Join(tree, completeMarker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	allow := filepath.Join(t.TempDir(), "rootfs.allow")
	if err := os.WriteFile(allow, []byte("dir /usr 0755\ndir /usr/lib 0755\nfile /usr/lib/os-release 0644 gen:os-release\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := &inputs.Inputs{Kernel: inputs.Kernel{
		Package: inputs.Package{Name: testKernel, SHA256: testSHA}, Release: testRelease, RootfsModules: names,
	}}
	return &builder{
		cfg: Config{Out: t.TempDir(), Cache: cache, Allowlist: allow, Compression: rootfs.CompZstd},
		in:  in, now: time.Now, built: map[string]bool{},
	}
}

func TestRootfsKeyCoversModules(t *testing.T) {
	b := testBuilder(t, testNames)
	key := func() string {
		t.Helper()
		allow, err := os.ReadFile(b.cfg.Allowlist)
		if err != nil {
			t.Fatal(err)
		}
		list, err := rootfs.Parse(bytes.NewReader(allow))
		if err != nil {
			t.Fatal(err)
		}
		src, err := b.sources(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		k := b.in.Kernel
		m, err := planRootfsModules(src.Dirs["deb:"+testKernel+"/"], "deb:"+testKernel+"/", k.Release, k.RootfsModules)
		if err != nil {
			t.Fatal(err)
		}
		if err := list.Add(m.Entries...); err != nil {
			t.Fatal(err)
		}
		for n, c := range m.Files {
			src.Files[n] = c
		}
		s, err := b.rootfsKey([]byte("allow"), list, src, m, []string{"squash"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	k1 := key()
	if key() != k1 {
		t.Fatal("the same inputs give different keys")
	}
	b.in.Kernel.RootfsModules = []string{"veth", "br_netfilter", "xt_comment", "af_packet"}
	k2 := key()
	if k2 == k1 {
		t.Error("reordering kernel.rootfsModules kept the key")
	}
	b.in.Kernel.RootfsModules = []string{"veth"}
	k3 := key()
	if k3 == k2 {
		t.Error("changing kernel.rootfsModules kept the key")
	}
	ko := filepath.Join(b.cfg.Cache, "tree", testSHA, "lib", "modules", testRelease, "kernel", "drivers", "net", "veth.ko")
	if err := os.WriteFile(ko, []byte("ELF veth v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if key() == k3 {
		t.Error("a changed module file kept the key")
	}
	b.in.Kernel.Package.SHA256 = strings.Repeat("f", 64)
	if err := os.Rename(filepath.Join(b.cfg.Cache, "tree", testSHA), filepath.Join(b.cfg.Cache, "tree", b.in.Kernel.Package.SHA256)); err != nil {
		t.Fatal(err)
	}
	if key() == k3 {
		t.Error("a changed kernel package kept the key")
	}
}

// TestRootfsStepModules runs the rootfs step (mksquashfs) on the fake tree.
func TestRootfsStepModules(t *testing.T) {
	if _, err := exec.LookPath("mksquashfs"); err != nil {
		t.Skip("mksquashfs not installed (hack/ensure-deps.sh image)")
	}
	ctx := context.Background()
	b := testBuilder(t, testNames)
	plan, err := b.rootfs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Paths) != 7 || !b.built[Rootfs] {
		t.Fatalf("plan %q, built %v", plan.Paths, b.built[Rootfs])
	}
	manifest, err := os.ReadFile(b.out(Manifest))
	if err != nil {
		t.Fatal(err)
	}
	dir := "/usr/lib/modules/" + testRelease
	for _, want := range []string{dir + "/kernel/net/bridge/br_netfilter.ko", dir + "/modules.dep", dir + "/" + layout.KubernetesModules} {
		if !strings.Contains(string(manifest), " "+want+"\n") {
			t.Errorf("manifest lacks %s:\n%s", want, manifest)
		}
	}
	first, err := os.ReadFile(b.out(Rootfs))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.rootfs(ctx); err != nil || b.built[Rootfs] {
		t.Fatalf("unchanged inputs: built %v, %v", b.built[Rootfs], err)
	}
	b.cfg.Force = true
	if _, err := b.rootfs(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(b.out(Rootfs)); !bytes.Equal(again, first) {
		t.Error("the same inputs gave a different squashfs")
	}
	b.cfg.Force = false
	b.in.Kernel.RootfsModules = nil
	if _, err := b.rootfs(ctx); err != nil || !b.built[Rootfs] {
		t.Fatalf("no rootfsModules: built %v, %v", b.built[Rootfs], err)
	}
	if manifest, _ := os.ReadFile(b.out(Manifest)); strings.Contains(string(manifest), "/usr/lib/modules") {
		t.Errorf("no rootfsModules, yet:\n%s", manifest)
	}
}
