package layout

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestLoadListRoundTrip(t *testing.T) {
	paths := []string{"/lib/modules/6.1/kernel/a.ko", "/lib/modules/6.1/kernel/b.ko"}
	var buf bytes.Buffer
	if err := FormatLoadList(&buf, paths); err != nil {
		t.Fatal(err)
	}
	got, err := ParseLoadList(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, paths) {
		t.Fatalf("got %q, want %q", got, paths)
	}
}

func TestParseLoadListErrors(t *testing.T) {
	for name, in := range map[string]string{
		"relative":  "lib/a.ko\n",
		"unclean":   "/lib/../a.ko\n",
		"duplicate": "/a.ko\n# c\n\n/a.ko\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseLoadList(strings.NewReader(in)); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}
