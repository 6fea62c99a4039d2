package qemu

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStatusRecorder(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	now := t0
	r := newStatusRecorder(dir, 4242, func() time.Time { return now }, func(err error) { t.Error(err) })
	r.node("n1", func(n *NodeStatus, at time.Time) { n.PID, n.Started = 100, at })
	now = now.Add(3 * time.Second)
	r.node("n1", func(n *NodeStatus, at time.Time) { n.ConfigFetches++; n.ConfigFetched = at })
	r.update(func(s *Status) { s.Ready, s.ConfigServer = true, "10.5.0.1:8080" })

	got, err := ReadStatus(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := got.Nodes["n1"]
	if got.PID != 4242 || !got.Ready || got.ConfigServer != "10.5.0.1:8080" || !got.Started.Equal(t0) {
		t.Errorf("status %+v", got)
	}
	if n.PID != 100 || n.ConfigFetches != 1 || n.ConfigFetched.Sub(n.Started) != 3*time.Second || !n.Running() {
		t.Errorf("node %+v", n)
	}
	snap := r.snapshot()
	snap.Nodes["n1"].PID = 1
	if r.snapshot().Nodes["n1"].PID != 100 {
		t.Error("a snapshot shares the recorder's nodes")
	}
	r.node("n1", func(n *NodeStatus, at time.Time) { n.Exited, n.ExitError = at, "exit status 1" })
	if got, _ := ReadStatus(dir); got.Nodes["n1"].Running() {
		t.Error("an exited node runs")
	}
	if data, _ := os.ReadFile(filepath.Join(dir, StatusFile)); strings.Contains(string(data), `"stopped"`) {
		t.Errorf("zero times are written:\n%s", data)
	}
}

func TestStatusWriteError(t *testing.T) {
	var got error
	r := newStatusRecorder(filepath.Join(t.TempDir(), "missing"), 1, time.Now, func(err error) { got = err })
	r.update(func(*Status) {})
	if got == nil {
		t.Error("a failed write was not reported")
	}
	if _, err := ReadStatus(t.TempDir()); err == nil {
		t.Error("no status file read")
	}
}

func TestCopyConsole(t *testing.T) {
	in := "Linux version 6.1\r\n" +
		"plinth-init: started at uptime 2.500s (plinth dev)\r\n" +
		"machined: boot: config\n" +
		"plinth-init: started at uptime 3.25s (plinth dev)\n" +
		"last line without newline"
	var out strings.Builder
	at := time.Unix(1000, 0)
	var boots []time.Duration
	copyConsole(strings.NewReader(in), &out, func() time.Time { return at }, func(arrived time.Time, up time.Duration) {
		if !arrived.Equal(at) {
			t.Errorf("arrival %v", arrived)
		}
		boots = append(boots, up)
	})
	want := "Linux version 6.1\nplinth-init: started at uptime 2.500s (plinth dev)\nmachined: boot: config\n" +
		"plinth-init: started at uptime 3.25s (plinth dev)\nlast line without newline\n"
	if out.String() != want {
		t.Errorf("copied:\n%q\nwant\n%q", out.String(), want)
	}
	if len(boots) != 2 || boots[0] != 2500*time.Millisecond || boots[1] != 3250*time.Millisecond {
		t.Errorf("boots %v", boots)
	}
	// A console whose log cannot be written is still read to the end.
	boots = nil
	copyConsole(strings.NewReader(in), failWriter{}, time.Now, func(time.Time, time.Duration) { boots = append(boots, 0) })
	if len(boots) != 2 {
		t.Errorf("boots after a write error: %d", len(boots))
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestTailLines(t *testing.T) {
	var b strings.Builder
	for i := range 20 {
		b.WriteString("line " + strconv.Itoa(i) + "\n")
	}
	if got := tailLines(b.String(), 3); got != "line 17\nline 18\nline 19" {
		t.Errorf("got %q", got)
	}
	if got := tailLines("one", 3); got != "one" {
		t.Errorf("got %q", got)
	}
}
