package initramfs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("GNU cpio is not installed (the cpio package has its own format tests)")
	}
	tmp := t.TempDir()
	write := func(rel, body string) string {
		p := filepath.Join(tmp, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	spec := Spec{
		Init:       write("plinth", "ELF"),
		ModulesDir: filepath.Join(tmp, "mods"),
		Release:    "6.1.0-test",
		Modules:    []string{"kernel/drivers/virtio/virtio.ko", "kernel/fs/squashfs/squashfs.ko"},
		Rootfs:     write("rootfs.sqsh", "hsqs"),
	}
	for _, m := range spec.Modules {
		write(filepath.Join("mods", m), "module "+m)
	}
	var buf bytes.Buffer
	if err := Write(&buf, spec); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cpio", "-itv", "--quiet")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio: %v\n%s", err, out)
	}
	listing := string(out)
	for _, want := range []string{
		"crw-------   1 root     root       5,   1 Jan  1  1970 dev/console",
		"-rwxr-xr-x   1 root     root            3 Jan  1  1970 init",
		"lib/modules/6.1.0-test/kernel/fs/squashfs/squashfs.ko",
		"lib/modules/load.list",
		"-r--r--r--   1 root     root            4 Jan  1  1970 rootfs.sqsh",
		"drwxr-xr-x   2 root     root            0 Jan  1  1970 newroot",
	} {
		if !strings.Contains(listing, want) {
			t.Errorf("listing lacks %q:\n%s", want, listing)
		}
	}
	if strings.Index(listing, "lib/modules/6.1.0-test/kernel\n") > strings.Index(listing, "virtio.ko") {
		t.Errorf("a directory comes after its content:\n%s", listing)
	}
}

func TestWriteRefusesEscapingModule(t *testing.T) {
	err := Write(&bytes.Buffer{}, Spec{Modules: []string{"../../etc/shadow"}})
	if err == nil {
		t.Fatal("escaping module path accepted")
	}
}
