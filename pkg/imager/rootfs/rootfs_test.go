package rootfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const sample = `
# comment
dir  /usr        0755
dir  /usr/bin    0755
file /usr/bin/plinth 0755 out:plinth   # the binary
link /usr/bin/machined plinth
dir  /tmp 1777
dir  /etc 0755
file /etc/os-release 0644 gen:os-release
file /etc/resolv.conf 0644 empty
`

func sources(t *testing.T) SourceMap {
	t.Helper()
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "plinth"), []byte("ELF"), 0o600); err != nil {
		t.Fatal(err)
	}
	return SourceMap{Dirs: map[string]string{"out:": out}, Files: map[string][]byte{"gen:os-release": []byte("ID=plinth\n")}}
}

func TestParseSortsAndLists(t *testing.T) {
	l, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range l.Entries {
		paths = append(paths, e.Path)
	}
	want := "/etc /etc/os-release /etc/resolv.conf /tmp /usr /usr/bin /usr/bin/machined /usr/bin/plinth"
	if strings.Join(paths, " ") != want {
		t.Fatalf("order %q, want %q", paths, want)
	}
	if got := l.Executables(); len(got) != 1 || got[0] != "/usr/bin/plinth" {
		t.Errorf("Executables() = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	for name, c := range map[string]struct{ in, want string }{
		"unknown type":   {"fifo /x 0644\n", "line 1: unknown entry type"},
		"fields":         {"dir /x\n", "wants 3 fields"},
		"relative":       {"dir x 0755\n", "clean absolute"},
		"unclean":        {"dir /x/../y 0755\n", "clean absolute"},
		"mode":           {"dir /x 0999\n", "octal"},
		"setuid":         {"file /x 4755 out:x\n", "setuid"},
		"sticky file":    {"file /x 1755 out:x\n", "sticky"},
		"source":         {"file /x 0755 plinth\n", "scheme"},
		"duplicate":      {"dir /x 0755\ndir /x 0755\n", "line 2: /x already listed on line 1"},
		"no parent":      {"file /usr/bin/x 0755 out:x\n", "parent /usr/bin"},
		"parent is file": {"file /usr 0644 empty\nfile /usr/x 0644 empty\n", "parent /usr"},
		"shell":          {"file /sh 0755 out:x\n", "shells"},
		"busybox link":   {"link /init busybox\n", "shells"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestStageAndManifest(t *testing.T) {
	l, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "root")
	if err := Stage(l, sources(t), dir); err != nil {
		t.Fatal(err)
	}
	lines, err := Manifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range lines {
		got = append(got, m.String())
	}
	want := []string{
		"d 0755 0 - /etc",
		"f 0644 10 " + sha("ID=plinth\n") + " /etc/os-release",
		"f 0644 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 /etc/resolv.conf",
		"d 1777 0 - /tmp",
		"d 0755 0 - /usr",
		"d 0755 0 - /usr/bin",
		"l 0777 0 - /usr/bin/machined -> plinth",
		"f 0755 3 " + sha("ELF") + " /usr/bin/plinth",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("manifest:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSourceMap(t *testing.T) {
	m := sources(t)
	for _, bad := range []string{"out:../etc/passwd", "out:", "cdn:plinth", "out:missing"} {
		if r, err := m.Open(bad); err == nil {
			r.Close()
			t.Errorf("%s: opened", bad)
		}
	}
	r, err := m.Open("out:plinth")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, _ := io.ReadAll(r); string(b) != "ELF" {
		t.Errorf("read %q", b)
	}
}

func TestSquash(t *testing.T) {
	for _, tool := range []string{"mksquashfs", "unsquashfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (hack/ensure-deps.sh image)", tool)
		}
	}
	l, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "root")
	if err := Stage(l, sources(t), dir); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(tmp, "rootfs.sqsh")
	if err := Squash(context.Background(), dir, img, SquashOptions{Compression: CompZstd}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("unsquashfs", "-lls", "-n", img).CombinedOutput()
	if err != nil {
		t.Fatalf("unsquashfs: %v\n%s", err, out)
	}
	for _, want := range []string{"-rwxr-xr-x root/root", "squashfs-root/usr/bin/machined -> plinth", "drwxrwxrwt"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}
}

// TestRepositoryAllowlist checks image/rootfs.allow: it parses (so it has
// no shell), its image: sources exist, the plinth binary is in it, and
// executables come only from build outputs or pinned packages.
func TestRepositoryAllowlist(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	imageDir := filepath.Join(filepath.Dir(file), "..", "..", "..", "image")
	f, err := os.Open(filepath.Join(imageDir, "rootfs.allow"))
	if err != nil {
		t.Skipf("no allowlist: %v", err)
	}
	defer f.Close()
	l, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range l.Entries {
		if rel, ok := strings.CutPrefix(e.Source, "image:"); ok {
			if _, err := fs.Stat(os.DirFS(imageDir), rel); err != nil {
				t.Errorf("line %d: %v", e.Line, err)
			}
			if e.Mode&0o111 != 0 {
				t.Errorf("line %d: %s is executable but comes from image/, which holds configuration", e.Line, e.Path)
			}
		}
	}
	if got := l.Executables(); !slices.Contains(got, "/usr/bin/plinth") {
		t.Errorf("executables %q lack /usr/bin/plinth", got)
	}
}

func TestAdd(t *testing.T) {
	l, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	before := len(l.Entries)
	for name, c := range map[string]struct {
		e    Entry
		want string
	}{
		"duplicate": {Entry{Type: TypeDir, Path: "/usr/bin", Mode: 0o755}, "generated entry: /usr/bin already listed on line 4"},
		"no parent": {Entry{Type: TypeFile, Path: "/usr/lib/x", Mode: 0o644, Source: "empty"}, "generated entry: parent /usr/lib of /usr/lib/x is not listed as a dir"},
		"unclean":   {Entry{Type: TypeDir, Path: "/usr/../x", Mode: 0o755}, "clean absolute"},
		"no source": {Entry{Type: TypeFile, Path: "/usr/x", Mode: 0o644}, "without a source"},
		"setuid":    {Entry{Type: TypeFile, Path: "/usr/x", Mode: 0o755 | fs.ModeSetuid, Source: "empty"}, "not allowed"},
		"shell":     {Entry{Type: TypeLink, Path: "/usr/bin/sh", Target: "plinth"}, "shells"},
	} {
		if err := l.Add(c.e); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, c.want)
		}
		if len(l.Entries) != before {
			t.Fatalf("%s: a rejected Add changed the allowlist", name)
		}
	}
	err = l.Add(Entry{Type: TypeFile, Path: "/usr/lib/x", Mode: 0o644, Source: "empty"}, Entry{Type: TypeDir, Path: "/usr/lib", Mode: 0o755})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range l.Entries {
		paths = append(paths, e.Path)
	}
	if !slices.IsSorted(paths) || !slices.Contains(paths, "/usr/lib/x") {
		t.Errorf("after Add: %q", paths)
	}
}
