package modules

import (
	"strings"
	"testing"
)

func FuzzResolve(f *testing.F) {
	f.Add(dep, "virtio_net virtio_pci")
	f.Add("a.ko: b.ko\nb.ko: a.ko\n", "a")
	f.Fuzz(func(t *testing.T, depFile, names string) {
		ix, err := ParseDep(strings.NewReader(depFile))
		if err != nil {
			return
		}
		plan, err := ix.Resolve(strings.Fields(names))
		if err != nil {
			return
		}
		pos := map[string]int{}
		for i, p := range plan.Paths {
			if _, dup := pos[p]; dup {
				t.Fatalf("%s twice", p)
			}
			pos[p] = i
		}
		for _, p := range plan.Paths {
			for _, d := range ix.deps[p] {
				if pd, ok := pos[d]; !ok || pd > pos[p] {
					t.Fatalf("%s before its dependency %s", p, d)
				}
			}
		}
	})
}
