package qemu

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestRoleOf(t *testing.T) {
	dir := "/root/.plinth/clusters/demo"
	for args, want := range map[string]string{
		"plinthctl\x00cluster\x00launcher\x00--state-dir\x00" + dir:           "launcher",
		"plinthctl\x00cluster\x00launcher\x00--state-dir=" + dir + "/":        "launcher",
		"qemu-system-x86_64\x00-name\x00n1\x00-pidfile\x00" + dir + "/n1.pid": "qemu n1",
		"plinthctl\x00cluster\x00launcher\x00--state-dir\x00" + dir + "2":     "",
		"qemu-system-x86_64\x00-pidfile\x00/elsewhere/n1.pid":                 "",
		"qemu-system-x86_64\x00-pidfile":                                      "",
		"vim\x00" + dir:                                                       "",
	} {
		if got := roleOf(splitArgs(args), dir); got != want {
			t.Errorf("%q: %q, want %q", args, got, want)
		}
	}
}

func splitArgs(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

func TestClusterProcsAndAlive(t *testing.T) {
	root := t.TempDir()
	dir := "/s/demo"
	write := func(pid int, cmdline, state string) {
		d := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(filepath.Join(d, "cmdline"), []byte(cmdline), 0o644)
		_ = os.WriteFile(filepath.Join(d, "stat"), []byte(strconv.Itoa(pid)+" (x y) "+state+" 1 2 3"), 0o644)
	}
	write(30, "qemu-system-x86_64\x00-pidfile\x00/s/demo/n2.pid\x00", "S")
	write(20, "plinthctl\x00cluster\x00launcher\x00--state-dir\x00/s/demo\x00", "S")
	write(40, "qemu-system-x86_64\x00-pidfile\x00/s/other/n1.pid\x00", "R")
	write(50, "", "S") // a kernel thread
	write(60, "qemu-system-x86_64\x00-pidfile\x00/s/demo/n1.pid\x00", "Z")
	_ = os.MkdirAll(filepath.Join(root, "self"), 0o755)

	procs, err := clusterProcs(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []proc{{20, "launcher"}, {30, "qemu n2"}, {60, "qemu n1"}}
	if len(procs) != len(want) {
		t.Fatalf("procs %v, want %v", procs, want)
	}
	for i := range want {
		if procs[i] != want[i] {
			t.Errorf("proc %d: %v, want %v", i, procs[i], want[i])
		}
	}
	if !alive(root, 20) || alive(root, 60) || alive(root, 99) || alive(root, 0) {
		t.Error("alive: running 20 is alive, zombie 60, missing 99 and 0 are not")
	}
}

// TestHelperProcess is a stand-in launcher or QEMU started by other tests:
// it sleeps, optionally ignoring SIGTERM.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("PLINTH_QEMU_TEST_HELPER") == "" {
		t.Skip("helper process for other tests")
	}
	if os.Getenv("PLINTH_QEMU_TEST_HELPER") == "ignore-term" {
		signal.Ignore(syscall.SIGTERM)
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
	os.Exit(0)
}

// startHelper runs the test binary as a helper whose command line ends in
// args; it is killed when the test ends.
func startHelper(t *testing.T, mode string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "PLINTH_QEMU_TEST_HELPER="+mode)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- true
			}
		}
		close(ready)
	}()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	// Its signal setup is done once it says so.
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("helper process exited before it was ready")
		}
	case <-time.After(time.Minute):
		t.Fatal("helper process not ready within a minute")
	}
	return cmd
}

func TestStopProcsAndDetails(t *testing.T) {
	dir := t.TempDir()
	launcher := startHelper(t, "ignore-term", "--state-dir", dir)
	vmCmd := startHelper(t, "term", "-pidfile", filepath.Join(dir, "demo-controlplane-1.pid"))

	s := testSpec(dir)
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	r := newStatusRecorder(dir, launcher.Process.Pid, time.Now, func(err error) { t.Error(err) })
	r.node("demo-controlplane-1", func(n *NodeStatus, at time.Time) { n.PID, n.Started, n.Boots = vmCmd.Process.Pid, at, 2 })
	r.node("demo-worker-1", func(n *NodeStatus, at time.Time) { n.PID, n.Started, n.Exited = 1, at, at })

	d, err := ReadDetails(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !d.LauncherRunning || d.LauncherPID != launcher.Process.Pid || d.Nodes[0].State != "running" || d.Nodes[0].Boots != 2 || d.Nodes[1].State != "exited" {
		t.Fatalf("details %+v", d)
	}
	states, err := New(Options{}).NodeStates(context.Background(), clusterOf(s))
	if err != nil || states["demo-controlplane-1"] != "running" || states["demo-worker-1"] != "exited" {
		t.Fatalf("states %v, %v", states, err)
	}

	procs, err := clusterProcs(procRoot, dir)
	if err != nil || len(procs) != 2 {
		t.Fatalf("found %v, %v", procs, err)
	}
	start := time.Now()
	if err := stopProcs(context.Background(), procRoot, procs, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// The launcher stand-in ignores SIGTERM: it is killed after the grace.
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("stopped in %s: the grace period was not given", took)
	}
	if d, _ := ReadDetails(dir); d.LauncherRunning || d.Nodes[0].State != "stopped" {
		t.Errorf("after stopping: %+v", d)
	}
}
