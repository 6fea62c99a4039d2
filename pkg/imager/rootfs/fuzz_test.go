package rootfs

import (
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("dir /a 0755\nfile /a/b 0644 out:b\nlink /a/c b\n")
	f.Add("file /x 4755 out:x # setuid\n")
	f.Fuzz(func(t *testing.T, in string) {
		l, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for i, e := range l.Entries {
			if seen[e.Path] {
				t.Fatalf("%s listed twice", e.Path)
			}
			seen[e.Path] = true
			if i > 0 && l.Entries[i-1].Path >= e.Path {
				t.Fatalf("entries not sorted: %s before %s", l.Entries[i-1].Path, e.Path)
			}
			if forbidden[lastElem(e.Path)] {
				t.Fatalf("forbidden %s accepted", e.Path)
			}
		}
	})
}

func lastElem(p string) string { return p[strings.LastIndex(p, "/")+1:] }
