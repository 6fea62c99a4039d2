package files

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// bigSize is larger than smallFile, so big.bin is streamed by Copy.
const bigSize = 200 << 10

// fixture builds a node-like tree in a temp dir and returns Roots over it
// (allowed: /etc, /proc, /var) and the temp dir's parent-side directory
// holding a file outside Root.
//
//	<tmp>/outside.txt                  outside Root
//	<tmp>/root/etc/hosts
//	<tmp>/root/etc/{link-to-secret, rel-escape, deep-escape, root-link, var-link, up-and-over, loop, dangling}
//	<tmp>/root/var/log/{app.log, big.bin, dirlink -> sub, fifo, out, sub/deep/x.txt}
//	<tmp>/root/var/run -> /system/run
//	<tmp>/root/system/secrets/key      not allowed
//	<tmp>/root/proc/kmsg               a hazard, never read
func fixture(t *testing.T) Roots {
	t.Helper()
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	files := map[string]string{
		"../outside.txt":         "OUTSIDE",
		"etc/hosts":              "127.0.0.1 localhost\n",
		"var/log/app.log":        "hello\n",
		"var/log/sub/deep/x.txt": "deep\n",
		"system/secrets/key":     "SECRET",
		"system/run/sock":        "",
		"proc/kmsg":              "6,1,1,-;x\n",
	}
	for name, content := range files {
		write(t, filepath.Join(root, name), []byte(content))
	}
	write(t, filepath.Join(root, "var/log/big.bin"), bigContent())
	links := map[string]string{
		"etc/link-to-secret": "/system/secrets/key",
		"etc/rel-escape":     "../system/secrets/key",
		"etc/deep-escape":    "../../../../../../../system/secrets/key",
		"etc/root-link":      "/",
		"etc/var-link":       "/var/log/app.log",
		"etc/up-and-over":    "./../var/./log/sub/../app.log",
		"etc/loop":           "loop",
		"etc/dangling":       "/var/nope",
		"var/log/dirlink":    "sub",
		"var/log/out":        "../../../outside.txt",
		"var/run":            "/system/run",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mkfifo(filepath.Join(root, "var/log/fifo"), 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	return Roots{Allowed: []string{"/etc", "/proc", "/var/"}, Root: root}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func bigContent() []byte {
	return bytes.Repeat([]byte("0123456789abcdef"), bigSize/16)
}

// skipIfRoot skips tests that rely on file permissions, which root ignores.
func skipIfRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		t.Skip("running as root, which reads files whatever their permissions; the injected-error tests cover this")
	}
}

// denyOpen makes openat fail with EACCES for entries named name until the
// test ends, as if they were unreadable.
func denyOpen(t *testing.T, name string) {
	t.Helper()
	real := openat
	openat = func(dir int, path string, flags int, mode uint32) (int, error) {
		if path == name {
			return -1, syscall.EACCES
		}
		return real(dir, path, flags, mode)
	}
	t.Cleanup(func() { openat = real })
}

// denyStat makes fstatat fail with EACCES for entries named name.
func denyStat(t *testing.T, name string) {
	t.Helper()
	real := fstatat
	fstatat = func(dir int, path string, st *unix.Stat_t, flags int) error {
		if path == name {
			return syscall.EACCES
		}
		return real(dir, path, st, flags)
	}
	t.Cleanup(func() { fstatat = real })
}
