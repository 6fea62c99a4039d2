// Package modules decides which kernel module files an image ships and the
// order in which init loads them, from depmod's modules.dep and the
// kernel's modules.builtin.
//
// modules.dep has one line per module, "path: dep1 dep2 ...", listing every
// module it needs (transitively), paths relative to /lib/modules/<release>.
// Resolve orders the closure of the requested modules so that each module
// comes after everything it depends on.
package modules

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Index is a parsed modules.dep (and optionally modules.builtin).
type Index struct {
	deps    map[string][]string
	byName  map[string]string
	builtin map[string]bool
}

// Name returns the module name of a module file path: the base name
// without .ko (and a compression suffix), with '-' written as '_'.
func Name(p string) string {
	base := path.Base(p)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		base = strings.TrimSuffix(base, ext)
	}
	base = strings.TrimSuffix(base, ".ko")
	return strings.ReplaceAll(base, "-", "_")
}

// ParseDep reads a modules.dep file.
func ParseDep(r io.Reader) (*Index, error) {
	ix := &Index{deps: map[string][]string{}, byName: map[string]string{}, builtin: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mod, rest, ok := strings.Cut(line, ":")
		mod = strings.TrimSpace(mod)
		if !ok || mod == "" {
			return nil, fmt.Errorf("modules.dep line %d: want \"module: dependencies\", got %q", n, line)
		}
		if _, dup := ix.deps[mod]; dup {
			return nil, fmt.Errorf("modules.dep line %d: %s listed twice", n, mod)
		}
		ix.deps[mod] = strings.Fields(rest)
		ix.byName[Name(mod)] = mod
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read modules.dep: %w", err)
	}
	for mod, deps := range ix.deps {
		for _, d := range deps {
			if _, ok := ix.deps[d]; !ok {
				return nil, fmt.Errorf("modules.dep: %s depends on %s, which has no line", mod, d)
			}
		}
	}
	return ix, nil
}

// AddBuiltin reads a modules.builtin file: paths of modules compiled into
// the kernel, one a line.
func (ix *Index) AddBuiltin(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			ix.builtin[Name(line)] = true
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read modules.builtin: %w", err)
	}
	return nil
}

// Plan is the result of Resolve.
type Plan struct {
	// Paths are module files relative to /lib/modules/<release>, each
	// after the modules it depends on.
	Paths []string
	// Builtin are requested modules that are part of the kernel image and
	// need no loading.
	Builtin []string
}

// Resolve returns the requested modules and their dependencies in load
// order. Requests are module names ("virtio_net"; '-' and '_' are the
// same). Unknown names are an error naming all of them.
func (ix *Index) Resolve(names []string) (Plan, error) {
	var plan Plan
	var unknown []string
	state := map[string]int{} // 0 new, 1 visiting, 2 done
	var visit func(mod string, chain []string) error
	visit = func(mod string, chain []string) error {
		switch state[mod] {
		case 1:
			return fmt.Errorf("module dependency cycle: %s", strings.Join(append(chain, mod), " -> "))
		case 2:
			return nil
		}
		state[mod] = 1
		deps := append([]string(nil), ix.deps[mod]...)
		sort.Strings(deps)
		for _, d := range deps {
			if err := visit(d, append(chain, mod)); err != nil {
				return err
			}
		}
		state[mod] = 2
		plan.Paths = append(plan.Paths, mod)
		return nil
	}
	for _, n := range names {
		name := Name(n)
		mod, ok := ix.byName[name]
		switch {
		case ok:
			if err := visit(mod, nil); err != nil {
				return Plan{}, err
			}
		case ix.builtin[name]:
			plan.Builtin = append(plan.Builtin, name)
		default:
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return Plan{}, fmt.Errorf("unknown kernel modules (neither in modules.dep nor built in): %s", strings.Join(unknown, ", "))
	}
	return plan, nil
}

// WriteDep writes a modules.dep for a subset of the index's modules, such
// as a Plan's Paths: one line per path, sorted, with its dependencies as
// in the original file. Every dependency must be in paths, so the result
// parses with ParseDep and resolves the same way.
func (ix *Index) WriteDep(w io.Writer, paths []string) error {
	in := map[string]bool{}
	for _, p := range paths {
		if _, ok := ix.deps[p]; !ok {
			return fmt.Errorf("write modules.dep: %s is not in modules.dep", p)
		}
		in[p] = true
	}
	sorted := make([]string, 0, len(in))
	for p := range in {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	var b strings.Builder
	for _, p := range sorted {
		b.WriteString(p + ":")
		for _, d := range ix.deps[p] {
			if !in[d] {
				return fmt.Errorf("write modules.dep: %s depends on %s, which is not in the subset", p, d)
			}
			b.WriteString(" " + d)
		}
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write modules.dep: %w", err)
	}
	return nil
}
