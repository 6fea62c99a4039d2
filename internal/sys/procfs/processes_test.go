package procfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/plinth-os/plinth/api/machine"
)

const fixtureProc = "testdata/proc"

var testOptions = Options{PageSize: 4096, ClockTicks: 100}

func TestProcessesFixture(t *testing.T) {
	got, err := ProcessesWithOptions(fixtureProc, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	want := []*machine.ProcessInfo{
		{
			Pid: 1, Ppid: 0, State: "S", Threads: 3, CpuTime: 4,
			VirtualMemory: 25600 * 4096, ResidentMemory: 1024 * 4096,
			Command: "init", Executable: "/sbin/init", Args: "/sbin/init --boot",
		},
		{
			// kernel thread: no exe, empty cmdline, zero memory
			Pid: 7, Ppid: 2, State: "I", Threads: 1, CpuTime: 0.03,
			Command: "kworker/0:1-events",
		},
		{
			// no comm, statm or exe: falls back to stat's command and sizes
			Pid: 42, Ppid: 1, State: "R", Threads: 1, CpuTime: 0.1,
			VirtualMemory: 8192000, ResidentMemory: 100 * 4096,
			Command: "my (weird) cmd", Args: "/bin/tool --flag two words",
		},
		{
			Pid: 100, Ppid: 1, State: "S", Threads: 12, CpuTime: 15,
			VirtualMemory: 524288 * 4096, ResidentMemory: 51200 * 4096,
			Command: "server", Executable: "/usr/bin/server", Args: "/usr/bin/server",
		},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d processes, want %d (pid 55 has no stat and must be skipped): %v", len(got), len(want), got)
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("process %d:\n got %v\nwant %v", i, got[i], want[i])
		}
	}
}

func TestProcessesDefaultPageSize(t *testing.T) {
	got, err := Processes(fixtureProc)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(1024 * os.Getpagesize()); got[0].ResidentMemory != want {
		t.Errorf("pid 1 resident = %d, want %d", got[0].ResidentMemory, want)
	}
}

func TestProcessesErrors(t *testing.T) {
	if _, err := ProcessesWithOptions(t.TempDir(), Options{}); err == nil {
		t.Error("zero options: want an error")
	}
	if _, err := Processes(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing proc root: want an error")
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "9"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "9", "stat"), []byte("9 (x) S 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Processes(root)
	if err == nil || !strings.Contains(err.Error(), "pid 9") {
		t.Errorf("corrupt stat: err = %v, want one naming pid 9", err)
	}
}

func TestParseStat(t *testing.T) {
	tail := " 0 0 0 0 0 0 0 7 3 0 0 20 0 4 0 1 1000 5"
	tests := []struct {
		name    string
		in      string
		want    stat
		wantErr string
	}{
		{
			name: "plain",
			in:   "12 (sh) S 1 0 0" + tail + "\n",
			want: stat{pid: 12, comm: "sh", state: "S", ppid: 1, utime: 7, stime: 3, threads: 4, vsize: 1000, rssPages: 5},
		},
		{
			name: "command with spaces and parentheses",
			in:   "13 (a) (b c) Z 2 0 0" + tail,
			want: stat{pid: 13, comm: "a) (b c", state: "Z", ppid: 2, utime: 7, stime: 3, threads: 4, vsize: 1000, rssPages: 5},
		},
		{name: "no command", in: "12 sh S 1", wantErr: "no (command)"},
		{name: "short", in: "12 (sh) S 1 0", wantErr: "fields after the command"},
		{name: "bad pid", in: "x (sh) S 1 0 0" + tail, wantErr: "pid"},
		{name: "bad utime", in: "12 (sh) S 1 0 0 0 0 0 0 0 0 0 x 3 0 0 20 0 4 0 1 1000 5", wantErr: "utime"},
		{name: "bad ppid", in: "12 (sh) S p 0 0" + tail, wantErr: "ppid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat(tt.in)
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

func TestParseStatm(t *testing.T) {
	if s, r, err := parseStatm("10 4 1 0 0 2 0\n"); err != nil || s != 10 || r != 4 {
		t.Errorf("parseStatm = %d, %d, %v; want 10, 4, nil", s, r, err)
	}
	for _, bad := range []string{"", "10", "x 4", "10 y"} {
		if _, _, err := parseStatm(bad); err == nil {
			t.Errorf("parseStatm(%q): want an error", bad)
		}
	}
}

// TestProcessesLive reads this machine's /proc: it must find the test
// process itself with its command line.
func TestProcessesLive(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	procs, err := Processes("/proc")
	if err != nil {
		t.Fatal(err)
	}
	self := int32(os.Getpid())
	for i, p := range procs {
		if i > 0 && procs[i-1].Pid >= p.Pid {
			t.Fatalf("not sorted by pid: %d before %d", procs[i-1].Pid, p.Pid)
		}
		if p.Pid == self {
			if p.Ppid != int32(os.Getppid()) || p.Threads < 1 || p.ResidentMemory == 0 {
				t.Errorf("self = %v", p)
			}
			if !strings.Contains(p.Args, filepath.Base(os.Args[0])) {
				t.Errorf("self args %q do not hold %q", p.Args, os.Args[0])
			}
			return
		}
	}
	t.Errorf("pid %d (this test) not among %d processes", self, len(procs))
}
