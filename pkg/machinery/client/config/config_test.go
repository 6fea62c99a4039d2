package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const sample = `context: demo
contexts:
  demo:
    endpoints:
      - 10.5.0.2
    nodes:
      - 10.5.0.2
      - 10.5.0.3
    ca: Y2E=
    crt: Y3J0
    key: a2V5
  other:
    endpoints:
      - 192.168.1.10
`

func sampleConfig() *Config {
	return &Config{
		Context: "demo",
		Contexts: map[string]*Context{
			"demo": {
				Endpoints: []string{"10.5.0.2"},
				Nodes:     []string{"10.5.0.2", "10.5.0.3"},
				CA:        "Y2E=", Crt: "Y3J0", Key: "a2V5",
			},
			"other": {Endpoints: []string{"192.168.1.10"}},
		},
	}
}

func TestFromBytes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    *Config
		wantErr string // substring; "" means success
	}{
		{name: "full", in: sample, want: sampleConfig()},
		{name: "empty", in: "", want: New()},
		{name: "comments only", in: "# nothing yet\n", want: New()},
		{name: "flow style", in: "context: a\ncontexts: {a: {endpoints: [1.2.3.4]}}\n",
			want: &Config{Context: "a", Contexts: map[string]*Context{"a": {Endpoints: []string{"1.2.3.4"}}}}},
		{name: "empty lists", in: "contexts:\n  a: {endpoints: [], nodes: []}\n",
			want: &Config{Contexts: map[string]*Context{"a": {}}}},
		{name: "context without body", in: "contexts:\n  bare:\n",
			want: &Config{Contexts: map[string]*Context{"bare": {}}}},
		{name: "unknown top-level field", in: "context: a\ncurrent: b\n",
			wantErr: `line 2: unknown field "current"`},
		{name: "unknown context field", in: "contexts:\n  a:\n    endpoints: [x]\n    node: [y]\n",
			wantErr: `line 4: unknown field "node"`},
		{name: "wrong type", in: "contexts:\n  a:\n    endpoints: 5\n",
			wantErr: "line 3: cannot unmarshal"},
		{name: "duplicate key", in: "context: a\ncontext: b\n",
			wantErr: `line 2: mapping key "context" already defined at line 1`},
		{name: "syntax error", in: "context: a\ncontexts:\n  a: [\n",
			wantErr: "line 3"},
		{name: "tab indentation", in: "contexts:\n\ta: {}\n",
			wantErr: "line 2"},
		{name: "second document", in: "context: a\n---\ncontext: b\n",
			wantErr: "line 2: a client config is one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromBytes([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FromBytes() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromBytes() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FromBytes() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestBytesRoundTrip(t *testing.T) {
	data, err := sampleConfig().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != sample {
		t.Errorf("Bytes() =\n%s\nwant\n%s", data, sample)
	}
	back, err := FromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, sampleConfig()) {
		t.Errorf("round trip = %#v", back)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	writeFile(t, good, sample)
	writeFile(t, bad, "context: a\ncontexts:\n  a:\n    endpoint: [x]\n")

	tests := []struct {
		name    string
		path    string
		want    *Config
		wantErr []string
	}{
		{name: "missing file is empty", path: filepath.Join(dir, "nope", "config"), want: New()},
		{name: "good", path: good, want: sampleConfig()},
		{name: "bad yaml names path and line", path: bad,
			wantErr: []string{bad, "line 4", `unknown field "endpoint"`}},
		{name: "directory", path: dir, wantErr: []string{"read client config", dir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Open(tt.path)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Open() succeeded, want error")
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("Open() error = %q, want it to contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Open() error = %v", err)
			}
			if got.Path() != tt.path {
				t.Errorf("Path() = %q, want %q", got.Path(), tt.path)
			}
			got.path = ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Open() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new", "config")
	cfg := sampleConfig()
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	assertMode(t, filepath.Dir(path), 0o700)
	assertMode(t, path, 0o600)
	if cfg.Path() != path {
		t.Errorf("Path() after Save = %q, want %q", cfg.Path(), path)
	}

	// Overwriting a world-readable file tightens its mode.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Context = "other"
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	assertMode(t, path, 0o600)
	back, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Context != "other" || !reflect.DeepEqual(back.Contexts, cfg.Contexts) {
		t.Errorf("reopened config = %#v", back)
	}
	assertOnlyFiles(t, filepath.Dir(path), "config")
}

func TestSaveFailureLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	// A non-empty directory where the file should be: the final rename fails.
	path := filepath.Join(dir, "config")
	writeFile(t, filepath.Join(path, "keep"), "x")
	err := sampleConfig().Save(path)
	if err == nil || !strings.Contains(err.Error(), "save client config") {
		t.Fatalf("Save() error = %v, want a save error", err)
	}
	assertOnlyFiles(t, dir, "config")
	assertOnlyFiles(t, path, "keep")
}

func TestDefaultPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)

	t.Setenv(EnvPath, "")
	got, err := DefaultPath()
	if want := filepath.Join(home, ".plinth", "config"); err != nil || got != want {
		t.Errorf("DefaultPath() without $%s = %q, %v; want %q", EnvPath, got, err, want)
	}

	t.Setenv(EnvPath, "/etc/plinth/client.yaml")
	got, err = DefaultPath()
	if err != nil || got != "/etc/plinth/client.yaml" {
		t.Errorf("DefaultPath() with $%s = %q, %v", EnvPath, got, err)
	}
}

func TestResolve(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	flagFile := filepath.Join(dir, "flag")
	writeFile(t, envFile, "context: from-env\ncontexts:\n  from-env: {}\n")
	writeFile(t, flagFile, "context: from-flag\ncontexts:\n  from-flag: {}\n  other: {}\n")

	tests := []struct {
		name, env, flag string
		wantPath        string
		wantContext     string
	}{
		{name: "default", wantPath: filepath.Join(home, ".plinth", "config")},
		{name: "env", env: envFile, wantPath: envFile, wantContext: "from-env"},
		{name: "flag beats env", env: envFile, flag: flagFile, wantPath: flagFile, wantContext: "from-flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvPath, tt.env)
			path, cfg, err := Resolve(tt.flag, "")
			if err != nil {
				t.Fatal(err)
			}
			if path != tt.wantPath || cfg.Path() != tt.wantPath {
				t.Errorf("Resolve() path = %q (cfg %q), want %q", path, cfg.Path(), tt.wantPath)
			}
			if cfg.Context != tt.wantContext {
				t.Errorf("Resolve() context = %q, want %q", cfg.Context, tt.wantContext)
			}
		})
	}
}

func TestResolveContextOverrideIsNotSaved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	writeFile(t, path, "context: from-flag\ncontexts:\n  from-flag: {}\n  other: {nodes: [n1]}\n")
	_, cfg, err := Resolve(path, "other")
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := cfg.Current("")
	if err != nil || len(ctx.Nodes) != 1 {
		t.Fatalf("Current() = %#v, %v; want the context named by --context", ctx, err)
	}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Context != "from-flag" {
		t.Errorf("saved current context = %q, want it unchanged", back.Context)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %o, want %o", path, got, want)
	}
}

// assertOnlyFiles fails unless dir holds exactly the named entries: no
// temporary files left behind.
func assertOnlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

func FuzzFromBytes(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("contexts:\n  bare:\n"))
	f.Add([]byte("context: a\n---\ncontext: b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := FromBytes(data)
		if err != nil {
			return
		}
		out, err := cfg.Bytes()
		if err != nil {
			t.Fatalf("Bytes() of a parsed config: %v", err)
		}
		back, err := FromBytes(out)
		if err != nil {
			t.Fatalf("re-parse of\n%s\nfailed: %v", out, err)
		}
		if !reflect.DeepEqual(back, cfg) {
			t.Fatalf("round trip changed the config:\n%#v\n%#v", cfg, back)
		}
	})
}
