package files

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOpen(t *testing.T) {
	r := fixture(t)
	tests := []struct {
		path    string
		want    string // content, when no error is expected
		wantErr error
		msg     string // part of the error text
	}{
		{path: "/etc/hosts", want: "127.0.0.1 localhost\n"},
		{path: "//var///log/app.log", want: "hello\n"},
		{path: "/etc/var-link", want: "hello\n"},
		{path: "/etc/up-and-over", want: "hello\n"},
		{path: "/var/log/dirlink/deep/x.txt", want: "deep\n"},
		{path: "", wantErr: ErrInvalidPath, msg: "empty path"},
		{path: "etc/hosts", wantErr: ErrInvalidPath, msg: "must be absolute"},
		{path: "/var/../system/secrets/key", wantErr: ErrInvalidPath, msg: `".." is not allowed`},
		{path: "/var/log/..", wantErr: ErrInvalidPath},
		{path: "/etc/hosts\x00", wantErr: ErrInvalidPath, msg: "NUL"},
		{path: "/system/secrets/key", wantErr: ErrNotAllowed, msg: "read /system/secrets/key: outside the allowed roots (allowed: /etc, /proc, /var)"},
		{path: "/", wantErr: ErrNotAllowed},
		{path: "/etcetera/hosts", wantErr: ErrNotAllowed},
		{path: "/etc/link-to-secret", wantErr: ErrNotAllowed, msg: "(it resolves to /system/secrets/key)"},
		{path: "/etc/rel-escape", wantErr: ErrNotAllowed, msg: "resolves to /system/secrets/key"},
		{path: "/etc/deep-escape", wantErr: ErrNotAllowed, msg: "resolves to /system"},
		{path: "/etc/root-link/system/secrets/key", wantErr: ErrNotAllowed, msg: "resolves to /system"},
		{path: "/var/log/out", wantErr: ErrNotAllowed, msg: "resolves to /outside.txt"},
		{path: "/var/run/sock", wantErr: ErrNotAllowed, msg: "resolves to /system"},
		{path: "/proc/kmsg", wantErr: ErrNotAllowed, msg: "use dmesg"},
		{path: "/etc/loop", wantErr: syscall.ELOOP},
		{path: "/etc/dangling", wantErr: fs.ErrNotExist, msg: "/var/nope"},
		{path: "/var/log/missing", wantErr: fs.ErrNotExist, msg: "read /var/log/missing: no such file or directory"},
		{path: "/etc/hosts/x", wantErr: syscall.ENOTDIR},
		{path: "/var/log", wantErr: ErrIsDirectory, msg: "read /var/log: is a directory: use list"},
		{path: "/var/log/dirlink", wantErr: ErrIsDirectory, msg: "/var/log/sub"},
		{path: "/var/log/fifo", wantErr: ErrNotRegular},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rc, err := r.Open(tt.path)
			if tt.wantErr != nil {
				if rc != nil {
					rc.Close() //nolint:errcheck // test
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want one matching %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("err = %q, want it to contain %q", err, tt.msg)
				}
				if strings.Contains(err.Error(), r.Root) {
					t.Errorf("err = %q names the host root %s", err, r.Root)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close() //nolint:errcheck // test
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("read %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOpenBadRoots(t *testing.T) {
	r := fixture(t)
	if _, err := (Roots{Root: r.Root}).Open("/etc/hosts"); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("no allowed roots: err = %v, want ErrNotAllowed", err)
	}
	if _, err := (Roots{Root: r.Root, Allowed: []string{"etc"}}).Open("/etc/hosts"); err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Errorf("relative allowed root: err = %v", err)
	}
	missing := Roots{Root: filepath.Join(r.Root, "missing"), Allowed: DefaultAllowed}
	if _, err := missing.Open("/etc/hosts"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing Root: err = %v, want not-exist", err)
	}
}

func TestOpenWholeHostRoot(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	rc, err := Roots{Allowed: DefaultAllowed}.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close() //nolint:errcheck // test
	data, err := io.ReadAll(rc)
	if err != nil || !strings.Contains(string(data), "Pid:") {
		t.Errorf("read /proc/self/status: %v, %q", err, data)
	}
}

func TestOpenUnreadableInjected(t *testing.T) {
	r := fixture(t)
	denyOpen(t, "hosts")
	_, err := r.Open("/etc/hosts")
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "read /etc/hosts: permission denied") {
		t.Errorf("err = %v, want permission denied on /etc/hosts", err)
	}
}

func TestOpenUnreadable(t *testing.T) {
	skipIfRoot(t)
	r := fixture(t)
	if err := os.Chmod(filepath.Join(r.Root, "etc/hosts"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open("/etc/hosts"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("err = %v, want permission denied", err)
	}
}
