package files_test

import (
	"context"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/controllers/files"
	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	resfiles "github.com/plinth-os/plinth/pkg/machinery/resources/files"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func withFiles(env map[string]string, entries ...v1alpha1.File) *v1alpha1.MachineConfig {
	m := ctest.MachineConfig(v1alpha1.TypeWorker, nil)
	m.Machine.Files = entries
	m.Machine.Env = env

	return m
}

func content(t *testing.T, path string) string {
	t.Helper()

	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}

	return string(b)
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	return fi.Mode().Perm()
}

func status(t *testing.T, h *ctest.Harness, path string) *resfiles.StaticFileStatusSpec {
	t.Helper()

	r := ctest.Get[resfiles.StaticFileStatusSpec](t, h.State, resfiles.NamespaceName, resfiles.StaticFileStatusType, path)
	if r == nil {
		return nil
	}

	return r.TypedSpec()
}

func startFiles(t *testing.T, root string) *ctest.Harness {
	t.Helper()

	h := ctest.New(t, &files.StaticFilesController{Root: root})
	h.Start(t)

	return h
}

func TestStaticFilesCreateAndAppend(t *testing.T) {
	root := t.TempDir()
	created := filepath.Join(root, "var/etc/motd")
	appended := filepath.Join(root, "etc/cri/conf.d/20-custom.toml")

	if err := os.MkdirAll(filepath.Dir(appended), 0o755); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(appended, []byte("base\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	entries := []v1alpha1.File{
		{Path: "/var/etc/motd", Content: "hello\n", Permissions: 0o600},
		{Path: "/etc/cri/conf.d/20-custom.toml", Content: "extra\n", Op: "append", Permissions: 0o640},
	}

	h := startFiles(t, root)
	ctest.SetConfig(t, h.State, withFiles(nil, entries...))

	ctest.Eventually(t, "both applied", func() bool {
		s1, s2 := status(t, h, "/var/etc/motd"), status(t, h, "/etc/cri/conf.d/20-custom.toml")

		return s1 != nil && s1.Applied && s2 != nil && s2.Applied
	})

	checkFile(t, created, "hello\n", 0o600)
	checkFile(t, appended, "base\nextra\n", 0o640)

	if s := status(t, h, "/etc/cri/conf.d/20-custom.toml"); s.Op != "append" || s.Mode != 0o640 || len(s.SHA256) != 64 {
		t.Fatalf("append status %+v", s)
	}

	// An unrelated change, then a new entry: re-runs append nothing more.
	ctest.SetConfig(t, h.State, withFiles(map[string]string{"A": "b"}, entries...))
	ctest.SetConfig(t, h.State, withFiles(map[string]string{"A": "b"}, append(entries,
		v1alpha1.File{Path: "/var/lib/marker", Content: "m"})...))
	ctest.Eventually(t, "marker", func() bool { return content(t, filepath.Join(root, "var/lib/marker")) == "m" })
	checkFile(t, appended, "base\nextra\n", 0o640)

	// New content is appended once.
	entries[1].Content = "more\n"
	ctest.SetConfig(t, h.State, withFiles(nil, entries...))
	ctest.Eventually(t, "new content appended", func() bool { return content(t, appended) == "base\nextra\nmore\n" })

	// Reset: statuses go, files stay.
	ctest.DestroyConfig(t, h.State)
	ctest.Eventually(t, "statuses removed", func() bool {
		items, err := h.State.List(context.Background(), resfiles.NamespaceName, resfiles.StaticFileStatusType)
		if err != nil {
			t.Fatal(err)
		}

		return len(items) == 0
	})
	checkFile(t, created, "hello\n", 0o600)
}

func TestStaticFilesAppendSurvivesRestart(t *testing.T) {
	root := t.TempDir()
	entry := v1alpha1.File{Path: "/var/log/notes", Content: "line\n", Op: "append"}
	path := filepath.Join(root, "var/log/notes")

	for range 2 { // a second machined, with fresh state, over the same disk
		h := ctest.New(t, &files.StaticFilesController{Root: root})
		ctx, cancel := context.WithCancel(context.Background())
		h.Run(ctx, t)
		ctest.SetConfig(t, h.State, withFiles(nil, entry))
		ctest.Eventually(t, "applied", func() bool { s := status(t, h, entry.Path); return s != nil && s.Applied })
		cancel()
		h.Wait(t)
	}

	checkFile(t, path, "line\n", 0o644)
}

func TestStaticFilesRefusesReadOnlyPaths(t *testing.T) {
	root := t.TempDir()
	h := startFiles(t, root)

	ctest.SetConfig(t, h.State, withFiles(nil,
		v1alpha1.File{Path: "/etc/passwd", Content: "root::0:0::/:/bin/sh\n"},
		v1alpha1.File{Path: "/var/../etc/shadow", Content: "x"},
		v1alpha1.File{Path: "/var/ok", Content: "ok"},
	))

	ctest.Eventually(t, "statuses", func() bool {
		bad, dots, ok := status(t, h, "/etc/passwd"), status(t, h, "/var/../etc/shadow"), status(t, h, "/var/ok")

		return bad != nil && strings.Contains(bad.Error, "not under /var") && !bad.Applied &&
			dots != nil && strings.Contains(dots.Error, "not a clean absolute path") &&
			ok != nil && ok.Applied
	})

	for _, p := range []string{"etc/passwd", "etc/shadow"} {
		if _, err := os.Stat(filepath.Join(root, p)); !os.IsNotExist(err) {
			t.Errorf("%s was written: %v", p, err)
		}
	}
}

func TestEnvironment(t *testing.T) {
	h := ctest.New(t, files.EnvironmentController{})
	h.Start(t)

	env := func() map[string]string {
		r := ctest.Get[resfiles.EnvironmentSpec](t, h.State, resfiles.NamespaceName, resfiles.EnvironmentType, resfiles.EnvironmentID)
		if r == nil {
			return nil
		}

		return r.TypedSpec().Variables
	}

	want := map[string]string{"HTTPS_PROXY": "http://proxy:3128"}
	ctest.SetConfig(t, h.State, withFiles(want))
	ctest.Eventually(t, "environment", func() bool { return maps.Equal(env(), want) })

	ctest.DestroyConfig(t, h.State)
	ctest.Eventually(t, "environment removed", func() bool { return env() == nil })
}

func checkFile(t *testing.T, path, want string, perm fs.FileMode) {
	t.Helper()

	if got := content(t, path); got != want {
		t.Fatalf("%s = %q, want %q", path, got, want)
	}

	if got := mode(t, path); got != perm {
		t.Fatalf("%s mode %#o, want %#o", path, got, perm)
	}
}
