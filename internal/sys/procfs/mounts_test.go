package procfs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/plinth-os/plinth/api/machine"
)

func TestMountsFixture(t *testing.T) {
	var asked []string
	statfs := func(path string) (uint64, uint64, error) {
		asked = append(asked, path)
		if path == "/proc" {
			return 0, 0, errors.New("boom")
		}
		return 1000, 400, nil
	}
	got, err := Mounts(fixtureProc, statfs)
	if err != nil {
		t.Fatal(err)
	}
	want := []*machine.MountStat{
		{Filesystem: "proc", Type: "proc", MountedOn: "/proc"},
		{Filesystem: "/dev/loop0", Type: "squashfs", MountedOn: "/", Size: 1000, Available: 400},
		{Filesystem: "/dev/vda5", Type: "ext4", MountedOn: "/var", Size: 1000, Available: 400},
		{Filesystem: "/dev/disk/by-label/my label", Type: "xfs", MountedOn: "/var/my disk", Size: 1000, Available: 400},
		{Filesystem: "tmpfs", Type: "tmpfs", MountedOn: "/run\ttab", Size: 1000, Available: 400},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d mounts, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("mount %d:\n got %v\nwant %v", i, got[i], want[i])
		}
	}
	if len(asked) != len(want) || asked[3] != "/var/my disk" {
		t.Errorf("statfs called with %q, want each decoded mount point", asked)
	}

	noSizes, err := Mounts(fixtureProc, nil)
	if err != nil || len(noSizes) != len(want) || noSizes[1].Size != 0 {
		t.Errorf("nil statfs: %v, %v; want the mounts with zero sizes", noSizes, err)
	}
}

func TestMountsErrors(t *testing.T) {
	if _, err := Mounts(t.TempDir(), nil); err == nil {
		t.Error("missing mountinfo: want an error")
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := "22 27 0:21 / /proc rw - proc proc rw\n\n23 27 0:22 / /sys rw sysfs sysfs rw\n"
	if err := os.WriteFile(filepath.Join(root, "self", "mountinfo"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Mounts(root, nil)
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("err = %v, want one naming line 3", err)
	}
}

func TestParseMountinfoLine(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    mountinfo
		wantErr string
	}{
		{
			name: "optional fields",
			in:   "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue",
			want: mountinfo{root: "/mnt1", mountPoint: "/mnt2", fsType: "ext3", source: "/dev/root"},
		},
		{
			name: "escapes",
			in:   `1 2 0:1 /a\134b /x\040y\012z rw - fuse.sshfs me@host:/a\040b rw`,
			want: mountinfo{root: `/a\b`, mountPoint: "/x y\nz", fsType: "fuse.sshfs", source: "me@host:/a b"},
		},
		{
			name: "no super options",
			in:   "1 2 0:1 / /m rw - tmpfs none",
			want: mountinfo{root: "/", mountPoint: "/m", fsType: "tmpfs", source: "none"},
		},
		{name: "no separator", in: "1 2 0:1 / /m rw tmpfs none rw", wantErr: "separator"},
		{name: "dash too early", in: "1 2 - / /m rw tmpfs none rw", wantErr: "separator"},
		{name: "nothing after separator", in: "1 2 0:1 / /m rw - tmpfs", wantErr: "type and source"},
		{name: "empty", in: "", wantErr: "separator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMountinfoLine(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestUnescapeOctal(t *testing.T) {
	tests := map[string]string{
		"plain":      "plain",
		`a\040b`:     "a b",
		`trailing\`:  `trailing\`,
		`short\04`:   `short\04`,
		`not\089`:    `not\089`,
		`\134\134`:   `\\`,
		`over\777`:   `over\777`,
		`end\011`:    "end\t",
		`\040\040x`:  "  x",
		`mixed\0401`: "mixed 1",
	}
	for in, want := range tests {
		if got := unescapeOctal(in); got != want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseMountinfoLine(f *testing.F) {
	f.Add("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue")
	f.Add(`31 30 0:26 /data /var/my\040disk rw - xfs /dev/disk/by-label/my\040label rw`)
	f.Add("1 2 3 4 5 6 - -")
	f.Add(`\\\0 \1 \777 - - - - - - -`)
	f.Fuzz(func(t *testing.T, line string) {
		m, err := parseMountinfoLine(line)
		if err != nil {
			return
		}
		if !slices.Contains(strings.Fields(line), "-") {
			t.Errorf("parsed %q without a separator: %+v", line, m)
		}
		if len(m.mountPoint) > len(line) || len(m.source) > len(line) {
			t.Errorf("decoded fields longer than the line %q: %+v", line, m)
		}
	})
}

func TestStatfsLive(t *testing.T) {
	size, _, err := Statfs("/")
	if err != nil {
		t.Fatalf("statfs /: %v", err)
	}
	if size == 0 {
		t.Skip("root file system reports size 0 here")
	}
	if _, _, err := Statfs(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("statfs of a missing path: want an error")
	}
}

func TestMountPointsUnder(t *testing.T) {
	info := `22 1 0:21 / / rw - overlay overlay rw
30 22 0:30 / /var rw - ext4 /dev/vda4 rw
31 30 0:31 / /var/lib/kubelet/pods/p1/volumes/kubernetes.io~projected/kube-api-access-x rw - tmpfs tmpfs rw
32 30 0:32 / /var/lib/containerd/io.containerd.runtime.v2.task/k8s.io/c1/rootfs rw - overlay overlay rw
33 32 0:33 / /var/lib/containerd/io.containerd.runtime.v2.task/k8s.io/c1/rootfs/proc rw - proc proc rw
34 22 0:34 / /variable rw - tmpfs tmpfs rw
35 30 0:35 / /var/with\040space rw - tmpfs tmpfs rw
`
	got, err := mountPointsUnder(strings.NewReader(info), "/var/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/var/with space",
		"/var/lib/kubelet/pods/p1/volumes/kubernetes.io~projected/kube-api-access-x",
		"/var/lib/containerd/io.containerd.runtime.v2.task/k8s.io/c1/rootfs/proc",
		"/var/lib/containerd/io.containerd.runtime.v2.task/k8s.io/c1/rootfs",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s (not /var itself, not /variable; children first)", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := mountPointsUnder(strings.NewReader("garbage\n"), "/var"); err == nil {
		t.Fatal("a malformed line was accepted")
	}
}
