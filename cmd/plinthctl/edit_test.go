package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// editorScript is a scripted $EDITOR: run N (counted in $EDIT_DIR/count)
// saves the file it was given as $EDIT_DIR/seen.N, then applies step N of
// $EDIT_STEPS ("invalid", "fix", "keep" or "revert").
const editorScript = `#!/bin/sh
set -e
n=$(cat "$EDIT_DIR/count" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$EDIT_DIR/count"
cp "$1" "$EDIT_DIR/seen.$n"
step=$(echo "$EDIT_STEPS" | cut -d, -f"$n")
case "$step" in
invalid) sed -i 's/^  type: worker$/  type: worker\n  network:\n    hostname: bad_host!/' "$1" ;;
fix) sed -i 's/hostname: bad_host!/hostname: worker-9/' "$1" ;;
hostname) sed -i 's/^  type: worker$/  type: worker\n  network:\n    hostname: worker-9/' "$1" ;;
keep|"") ;;
*) echo "unknown step $step" >&2; exit 2 ;;
esac
`

// setupEditor installs the scripted editor for steps.
func setupEditor(t *testing.T, f *fakeNode, steps ...string) string {
	t.Helper()
	dir := filepath.Join(f.dir, "editor")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "edit.sh")
	if err := os.WriteFile(script, []byte(editorScript), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EDITOR", script)
	t.Setenv("EDIT_DIR", dir)
	t.Setenv("EDIT_STEPS", strings.Join(steps, ","))
	t.Setenv("TMPDIR", f.dir)
	return dir
}

// editorHeaders are the comment lines the editor was shown each time.
func editorHeaders(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	for n := 1; ; n++ {
		data, err := os.ReadFile(filepath.Join(dir, "seen."+string(rune('0'+n))))
		if err != nil {
			break
		}
		b.WriteString("--- editor, time " + string(rune('0'+n)) + "\n")
		for _, line := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(line, "#") {
				break
			}
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func TestEditMachineConfig(t *testing.T) {
	tests := []struct {
		golden  string
		steps   []string
		args    []string
		applied string // in the node's config afterwards
	}{
		{"invalid-then-fixed", []string{"invalid", "fix"}, []string{"edit", "machineconfig", "-n", "10.5.0.2,10.5.0.9"}, "hostname: worker-9"},
		{"unchanged", []string{"keep"}, []string{"edit", "mc"}, ""},
		{"still-invalid", []string{"invalid", "keep"}, []string{"edit", "machineconfig"}, ""},
		{"dry-run-no-reboot", []string{"hostname"}, []string{"edit", "machineconfig", "--mode", "no-reboot", "--dry-run"}, ""},
		{"not-machineconfig", nil, []string{"edit", "services"}, ""},
		{"editor-fails", []string{"boom"}, []string{"edit", "machineconfig"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			f := newFakeNode(t)
			nodeConfigFixture(t, f)
			dir := setupEditor(t, f, tt.steps...)
			got := transcriptWithCalls(t, f, tt.args...) + f.scrub(editorHeaders(t, dir))
			if tt.applied != "" {
				f.mu.Lock()
				cfg := string(f.machineConfig)
				f.mu.Unlock()
				if !strings.Contains(cfg, tt.applied) || !strings.HasPrefix(cfg, "apiVersion:") {
					t.Errorf("applied config lacks %q or keeps the editor header:\n%s", tt.applied, cfg)
				}
			}
			f.goldenHome(t, "edit/"+tt.golden+".txt", got)
		})
	}
}

func TestPatchMachineConfig(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"dry-run-fanout", []string{"patch", "machineconfig", "--patch", "@hostname.yaml", "--dry-run", "-n", "10.5.0.2,10.5.0.9"}},
		{"json-patch", []string{"patch", "mc", "-p", `[{"op": "add", "path": "/machine/certSANs", "value": ["10.5.0.100"]}]`, "--mode", "reboot"}},
		{"invalid", []string{"patch", "mc", "-p", `{"machine": {"network": {"hostname": "bad_host!"}}}`}},
		{"bad-patch-file", []string{"patch", "mc", "-p", "@nope.yaml"}},
		{"not-machineconfig", []string{"patch", "svc", "-p", "@hostname.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			f := newFakeNode(t)
			nodeConfigFixture(t, f)
			writeTestFile(t, "hostname.yaml", "machine:\n  network:\n    hostname: worker-3\n")
			f.goldenHome(t, "patch/"+tt.golden+".txt", transcriptWithCalls(t, f, tt.args...))
		})
	}
}
