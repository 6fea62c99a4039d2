package inputs

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const good = `
kernel:
  package:
    name: linux-image-6.1.0-56-cloud-amd64
    version: 6.1.192-2
    arch: amd64
    sha256: e7d02b943971edcb8790e256c02cfab3bca6c3d37c1bf25392a57c71300615ee
    size: 26713492
    url: http://deb.debian.org/debian-security/pool/updates/main/l/linux-signed-amd64/linux-image-6.1.0-56-cloud-amd64_6.1.192-2_amd64.deb
  release: 6.1.0-56-cloud-amd64
  modules: [virtio_net, squashfs]
  rootfsModules: [nf_conntrack, xt_MASQUERADE, br_netfilter]
packages: []
`

func TestParse(t *testing.T) {
	in, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if in.Kernel.Release != "6.1.0-56-cloud-amd64" || len(in.Kernel.Modules) != 2 {
		t.Fatalf("unexpected %+v", in.Kernel)
	}
	if got := strings.Join(in.Kernel.RootfsModules, " "); got != "nf_conntrack xt_MASQUERADE br_netfilter" {
		t.Errorf("rootfsModules = %q", got)
	}
	if got := in.Kernel.Package.String(); got != "linux-image-6.1.0-56-cloud-amd64=6.1.192-2 (amd64)" {
		t.Errorf("String() = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	for name, c := range map[string]struct{ from, to, want string }{
		"unknown field":     {"packages: []", "extra: 1", "field extra not found"},
		"bad sha":           {"sha256: e7d0", "sha256: E7D0", "kernel.package.sha256"},
		"bad url":           {"url: http://", "url: ftp://", "kernel.package.url"},
		"bad module":        {"[virtio_net,", "[virtio/net,", "kernel.modules[0]"},
		"bad rootfs module": {"xt_MASQUERADE,", "xt MASQUERADE,", "kernel.rootfsModules[1]: \"xt MASQUERADE\" is not a module name"},
		"no size":           {"size: 26713492", "size: 0", "kernel.package.size"},
		"duplicate": {"packages: []", `packages:
  - {name: linux-image-6.1.0-56-cloud-amd64, version: "1", arch: amd64, size: 1,
     sha256: e7d02b943971edcb8790e256c02cfab3bca6c3d37c1bf25392a57c71300615ee, url: "http://d/x.deb"}`, "listed twice"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(strings.Replace(good, c.from, c.to, 1)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestRepositoryInputs validates the checked-in image/inputs.yaml.
func TestRepositoryInputs(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "..", "image", "inputs.yaml")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no %s: %v", path, err)
	}
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
}
