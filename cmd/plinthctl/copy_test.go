package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// describeTree lists a directory: one line per entry with its mode, and a
// file's content or a link's target.
func describeTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %s", info.Mode(), rel)
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			fmt.Fprintf(&b, " -> %s", target)
		case info.Mode().IsRegular():
			data, _ := os.ReadFile(path)
			fmt.Fprintf(&b, ": %q", data)
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestCopy(t *testing.T) {
	f := newFakeNode(t)
	out := filepath.Join(f.dir, "out")
	var got strings.Builder
	got.WriteString(f.run(t, "copy", "/var/log", out))
	got.WriteString("--- extracted\n" + describeTree(t, out))
	got.WriteString(f.run(t, "cp", "/evil", filepath.Join(f.dir, "evil", "inside")))
	if _, err := os.Stat(filepath.Join(f.dir, "evil", "escape")); !os.IsNotExist(err) {
		t.Errorf("an entry escaped the destination: %v", err)
	}
	got.WriteString(f.run(t, "copy", "/var/log", out, "-n", "10.5.0.2,10.5.0.3"))
	got.WriteString(f.run(t, "copy", "/var/log", out, "-n", "10.5.0.9"))
	got.WriteString("--- calls\n" + strings.Join(f.recorded(), "\n") + "\n")
	golden(t, "copy/copy.txt", []byte(got.String()))
}

func TestCopyToStdout(t *testing.T) {
	f := newFakeNode(t)
	stdout, stderr, err := runCLI(t, "--plinthconfig", f.config, "copy", "/var/log", "-")
	if err != nil {
		t.Fatalf("copy: %v\n%s", err, stderr)
	}
	gz, err := gzip.NewReader(strings.NewReader(stdout))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if want := "log/ log/etcd.log log/sub/deep.log log/current"; strings.Join(names, " ") != want {
		t.Errorf("archive holds %q, want %q", names, want)
	}
	if !bytes.Equal([]byte(stdout), fakeTarGz("/var/log")) {
		t.Error("stdout differs from the archive the node sent")
	}
}
