package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update rewrites golden files instead of comparing against them:
//
//	go test ./cmd/plinthctl -run TestX -update
var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/<name>. With -update it writes got to the
// file instead (creating parent directories). On mismatch it fails the test
// with a line diff of want against got.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(name))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("golden %s: %v", name, err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("golden %s: %v", name, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update to create it)", name, err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("output differs from %s (-want +got; run with -update to accept):\n%s",
			path, lineDiff(string(want), string(got)))
	}
}

// runCLI runs plinthctl with args on a fresh command tree and returns what it
// wrote to stdout and stderr along with the error Execute returned.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

// lineDiff renders the differences between want and got line by line, each
// line prefixed with "  " (both), "- " (only in want) or "+ " (only in got).
// It uses the longest common subsequence of lines, which is plenty for the
// small outputs golden files hold.
func lineDiff(want, got string) string {
	a := strings.SplitAfter(want, "\n")
	b := strings.SplitAfter(got, "\n")
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var sb strings.Builder
	line := func(prefix, s string) {
		if s == "" {
			return // the empty piece after a final newline
		}
		if !strings.HasSuffix(s, "\n") {
			s += "\n\\ no newline at end\n"
		}
		fmt.Fprintf(&sb, "%s%s", prefix, s)
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			line("  ", a[i])
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			line("- ", a[i])
			i++
		default:
			line("+ ", b[j])
			j++
		}
	}
	return sb.String()
}

func TestLineDiff(t *testing.T) {
	tests := []struct {
		name, want, got, diff string
	}{
		{name: "equal", want: "a\nb\n", got: "a\nb\n", diff: "  a\n  b\n"},
		{name: "changed line", want: "a\nb\nc\n", got: "a\nx\nc\n", diff: "  a\n- b\n+ x\n  c\n"},
		{name: "added line", want: "a\n", got: "a\nb\n", diff: "  a\n+ b\n"},
		{name: "removed line", want: "a\nb\n", got: "b\n", diff: "- a\n  b\n"},
		{name: "missing final newline", want: "a\n", got: "a", diff: "- a\n+ a\n\\ no newline at end\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lineDiff(tt.want, tt.got); got != tt.diff {
				t.Errorf("lineDiff() =\n%s\nwant\n%s", got, tt.diff)
			}
		})
	}
}
