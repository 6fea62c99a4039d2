package rootfs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Sources opens the bytes of a file entry's source.
type Sources interface {
	Open(source string) (io.ReadCloser, error)
}

// SourceMap resolves sources by prefix: a source starting with a key of
// Dirs is the file at the rest of the source below that directory
// ("out:plinth" with Dirs["out:"] = "_out" is _out/plinth; a package
// "deb:iptables/" maps to its extracted tree). Files holds generated
// contents by full source name ("gen:os-release").
type SourceMap struct {
	Dirs  map[string]string
	Files map[string][]byte
}

// Open implements Sources. "empty" is an empty file.
func (m SourceMap) Open(source string) (io.ReadCloser, error) {
	if source == "empty" {
		return io.NopCloser(strings.NewReader("")), nil
	}
	if b, ok := m.Files[source]; ok {
		return io.NopCloser(strings.NewReader(string(b))), nil
	}
	keys := make([]string, 0, len(m.Dirs))
	for k := range m.Dirs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		rel, ok := strings.CutPrefix(source, k)
		if !ok {
			continue
		}
		if rel == "" || !filepath.IsLocal(rel) {
			return nil, fmt.Errorf("source %q: %q is not a path inside %s", source, rel, m.Dirs[k])
		}
		f, err := os.Open(filepath.Join(m.Dirs[k], rel))
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", source, err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("source %q: unknown source (known: empty, %s)", source, strings.Join(keys, ", "))
}

// Stage creates the allowlisted entries below dir, which must be empty or
// missing. Files get their sources' bytes and exactly the listed modes.
func Stage(l *Allowlist, src Sources, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	defer root.Close()
	for _, e := range l.Entries {
		if err := stageEntry(root, src, e); err != nil {
			return fmt.Errorf("stage %s (%s): %w", e.where(), e.Path, err)
		}
	}
	return nil
}

func stageEntry(root *os.Root, src Sources, e Entry) error {
	name := strings.TrimPrefix(e.Path, "/")
	switch e.Type {
	case TypeDir:
		if err := root.Mkdir(name, 0o700); err != nil {
			return err
		}
		return root.Chmod(name, e.Mode)
	case TypeLink:
		return root.Symlink(e.Target, name)
	}
	in, err := src.Open(e.Source)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return root.Chmod(name, e.Mode)
}
