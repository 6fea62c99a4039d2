package files

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/api/machine"
)

// summary renders a FileInfo as "relative kind [-> link] [!error]".
func summary(fi *machine.FileInfo) string {
	mode := fs.FileMode(fi.Mode)
	kind := "file"
	switch {
	case fi.IsDir:
		kind = "dir"
	case mode&fs.ModeSymlink != 0:
		kind = "link->" + fi.Link
	case mode&fs.ModeNamedPipe != 0:
		kind = "fifo"
	}
	s := fi.RelativeName + " " + kind
	if fi.Error != "" {
		s += " !" + fi.Error
	}
	return s
}

func list(t *testing.T, r Roots, req *machine.ListRequest) []*machine.FileInfo {
	t.Helper()
	var out []*machine.FileInfo
	if err := r.List(req, func(fi *machine.FileInfo) error {
		out = append(out, fi)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func summaries(infos []*machine.FileInfo) string {
	var lines []string
	for _, fi := range infos {
		lines = append(lines, summary(fi))
	}
	return strings.Join(lines, "\n")
}

func TestList(t *testing.T) {
	r := fixture(t)
	children := []string{
		". dir", "app.log file", "big.bin file", "dirlink link->sub", "fifo fifo",
		"out link->../../../outside.txt", "sub dir",
	}
	tests := []struct {
		name string
		req  *machine.ListRequest
		want []string
	}{
		{name: "children only", req: &machine.ListRequest{Root: "/var/log"}, want: children},
		{name: "depth ignored without recurse", req: &machine.ListRequest{Root: "/var/log", RecursionDepth: 5}, want: children},
		{name: "recurse depth 1", req: &machine.ListRequest{Root: "/var/log", Recurse: true, RecursionDepth: 1}, want: children},
		{
			name: "recurse depth 2",
			req:  &machine.ListRequest{Root: "/var/log", Recurse: true, RecursionDepth: 2},
			want: append(append([]string(nil), children...), "sub/deep dir"),
		},
		{
			name: "recurse unlimited",
			req:  &machine.ListRequest{Root: "/var/log", Recurse: true},
			want: append(append([]string(nil), children...), "sub/deep dir", "sub/deep/x.txt file"),
		},
		{name: "a file", req: &machine.ListRequest{Root: "/etc/hosts"}, want: []string{". file"}},
		{name: "a symlink root is followed", req: &machine.ListRequest{Root: "/var/log/dirlink"}, want: []string{". dir", "deep dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summaries(list(t, r, tt.req))
			if want := strings.Join(tt.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestListFields(t *testing.T) {
	r := fixture(t)
	infos := list(t, r, &machine.ListRequest{Root: "/var/log/dirlink/", Recurse: true})
	byRel := map[string]*machine.FileInfo{}
	for _, fi := range infos {
		byRel[fi.RelativeName] = fi
	}
	x := byRel["deep/x.txt"]
	st, err := os.Stat(filepath.Join(r.Root, "var/log/sub/deep/x.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if x == nil || x.Name != "/var/log/dirlink/deep/x.txt" || x.Size != 5 ||
		fs.FileMode(x.Mode) != st.Mode() || x.Modified != st.ModTime().Unix() || x.IsDir {
		t.Errorf("x.txt = %v, want name /var/log/dirlink/deep/x.txt, size 5, mode %v, modified %d",
			x, st.Mode(), st.ModTime().Unix())
	}
	if top := byRel["."]; top == nil || top.Name != "/var/log/dirlink" || !fs.FileMode(top.Mode).IsDir() {
		t.Errorf("top = %v", top)
	}
}

func TestListErrors(t *testing.T) {
	r := fixture(t)
	tests := []struct {
		root string
		want error
	}{
		{"/system", ErrNotAllowed},
		{"/var/run", ErrNotAllowed},
		{"var", ErrInvalidPath},
		{"/var/nope", fs.ErrNotExist},
	}
	for _, tt := range tests {
		err := r.List(&machine.ListRequest{Root: tt.root}, func(*machine.FileInfo) error { return nil })
		if !errors.Is(err, tt.want) || !strings.HasPrefix(err.Error(), "list ") {
			t.Errorf("List(%q) err = %v, want one matching %v", tt.root, err, tt.want)
		}
	}
	stop := errors.New("client gone")
	n := 0
	err := r.List(&machine.ListRequest{Root: "/var/log", Recurse: true}, func(*machine.FileInfo) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("emit error: err = %v after %d entries, want the emit error after 3", err, n)
	}
}

func TestListUnreadableInjected(t *testing.T) {
	r := fixture(t)
	denyOpen(t, "deep")
	denyStat(t, "big.bin")
	got := summaries(list(t, r, &machine.ListRequest{Root: "/var/log", Recurse: true}))
	for _, want := range []string{
		"big.bin file !lstat: permission denied",
		"sub/deep dir !open directory: permission denied",
		"app.log file",
	} {
		if !strings.Contains(got, want+"\n") && !strings.HasSuffix(got, want) {
			t.Errorf("listing lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "x.txt") {
		t.Errorf("listed inside an unreadable directory:\n%s", got)
	}
}

func TestListUnreadable(t *testing.T) {
	skipIfRoot(t)
	r := fixture(t)
	deep := filepath.Join(r.Root, "var/log/sub/deep")
	if err := os.Chmod(deep, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(deep, 0o755) }) //nolint:errcheck // let TempDir clean up
	got := summaries(list(t, r, &machine.ListRequest{Root: "/var/log", Recurse: true}))
	if !strings.Contains(got, "sub/deep dir !open directory: permission denied") {
		t.Errorf("listing:\n%s", got)
	}
}

func TestFileMode(t *testing.T) {
	tests := []struct {
		in   uint32
		want string
	}{
		{0o100644, "-rw-r--r--"},
		{0o040755, "drwxr-xr-x"},
		{0o120777, "Lrwxrwxrwx"},
		{0o010600, "prw-------"},
		{0o140777, "Srwxrwxrwx"},
		{0o020620, "Dcrw--w----"},
		{0o060660, "Drw-rw----"},
		{0o104755, "urwxr-xr-x"},
		{0o102755, "grwxr-xr-x"},
		{0o041777, "dtrwxrwxrwx"},
	}
	for _, tt := range tests {
		if got := fileMode(tt.in).String(); got != tt.want {
			t.Errorf("fileMode(%o) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
