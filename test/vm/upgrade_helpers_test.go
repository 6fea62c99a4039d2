//go:build vm

package vm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/imager/cpio"
	"github.com/plinth-os/plinth/pkg/machinery/bundle"
)

// Helpers of the install and upgrade tests and benchmark.

// variantVersion is the version string of the image the tests upgrade to.
const variantVersion = "v0.0.0-upgrade-test"

// bootStatusView is the BootStatus spec as `get bootstatus -o json` prints it.
type bootStatusView struct {
	Installed   bool   `json:"installed"`
	BootedSlot  string `json:"bootedSlot"`
	DefaultSlot string `json:"defaultSlot"`
	TrialSlot   string `json:"trialSlot"`
	Slots       []struct {
		Name     string `json:"name"`
		Version  string `json:"version"`
		Complete bool   `json:"complete"`
	} `json:"slots"`
	LastUpgrade *struct {
		Result, Reason, FromVersion, ToVersion string
	} `json:"lastUpgrade"`
}

func readBootStatus(t testing.TB, c clusterCtl, n string) bootStatusView {
	t.Helper()
	b, err := tryBootStatus(c, n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tryBootStatus(c clusterCtl, n string) (bootStatusView, error) {
	out, err := c.run("-n", n, "get", "bootstatus", "-o", "json")
	if err != nil {
		return bootStatusView{}, fmt.Errorf("get bootstatus: %v\n%s", err, out)
	}
	var doc struct {
		Spec bootStatusView `json:"spec"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return bootStatusView{}, fmt.Errorf("get bootstatus -o json: %v\n%s", err, out)
	}
	return doc.Spec, nil
}

func waitBoot(t testing.TB, c clusterCtl, n string, ok func(bootStatusView) bool, timeout time.Duration) bootStatusView {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last bootStatusView
	var err error
	for time.Now().Before(deadline) {
		if last, err = tryBootStatus(c, n); err == nil && ok(last) {
			return last
		}
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("boot status never as wanted; last %+v (err %v)", last, err)
	return last
}

// consoleMark is the size of the node's console log: waitConsole looks
// only at what comes after it.
func consoleMark(stateDir, node string) int64 {
	st, err := os.Stat(filepath.Join(stateDir, node+".log"))
	if err != nil {
		return 0
	}
	return st.Size()
}

// waitConsole waits until the node's console log (the launcher's) shows
// want after mark.
func waitConsole(t testing.TB, stateDir, node string, mark int64, want string, timeout time.Duration) {
	t.Helper()
	path := filepath.Join(stateDir, node+".log")
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(path)
		if int64(len(data)) > mark && bytes.Contains(data[mark:], []byte(want)) {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("console of %s never printed %q", node, want)
}

func manifestOf(t testing.TB, path string) bundle.Manifest {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := bundle.ReadManifest(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// variantBundle builds (once, cached in _out) a bundle like the image's
// but with another version string.
func variantBundle(t testing.TB, image string) string {
	t.Helper()
	dir := filepath.Join(image, "variant")
	out := filepath.Join(dir, "boot-bundle.tar")
	if fi, err := os.Stat(out); err == nil {
		if bi, err := os.Stat(filepath.Join(image, "boot-bundle.tar")); err == nil && fi.ModTime().After(bi.ModTime()) {
			return out
		}
	}
	cmd := exec.Command("hack/bundle-variant.sh", variantVersion, dir)
	cmd.Dir = repoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bundle-variant.sh: %v\n%s", err, b)
	}
	return out
}

// brokenBundle writes a bundle whose initramfs holds only /init (plinth
// init finds no module list, prints FATAL and reboots).
func brokenBundle(t *testing.T, image string) string {
	t.Helper()
	dir := t.TempDir()
	initPath := filepath.Join(image, "plinth-init")
	bin, err := os.ReadFile(initPath)
	if err != nil {
		t.Skipf("no plinth-init (run make build): %v", err)
	}
	var buf bytes.Buffer
	w := cpio.NewWriter(&buf)
	if err := w.File("init", 0o755, int64(len(bin)), bytes.NewReader(bin)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	initrd := filepath.Join(dir, "initramfs")
	if err := os.WriteFile(initrd, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "broken.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := bundle.Write(f, bundle.Manifest{Version: "v0.0.0-broken", KernelRelease: "broken", Arch: "amd64"},
		filepath.Join(image, "vmlinuz"), initrd); err != nil {
		t.Fatal(err)
	}
	return out
}
