package reaper

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary run one scenario in a fresh process, so
// that becoming a subreaper does not affect the test binary itself.
const helperEnv = "PLINTH_REAPER_TEST_HELPER"

func TestMain(m *testing.M) {
	if scenario := os.Getenv(helperEnv); scenario != "" {
		if err := runHelper(scenario); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

func TestSubreaper(t *testing.T) {
	for _, scenario := range []string{"status", "orphan", "many", "after-stop"} {
		t.Run(scenario, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			// The race runtime sleeps a second at exit unless told otherwise.
			cmd.Env = append(os.Environ(), helperEnv+"="+scenario, "GORACE=atexit_sleep_ms=0")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper %s: %v\n%s", scenario, err, out)
			}
		})
	}
}

func runHelper(scenario string) error {
	if err := SetSubreaper(); err != nil {
		return err
	}
	r := New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var err error
	switch scenario {
	case "status":
		err = checkStatus(r, "exit 3", 3)
	case "orphan":
		err = checkOrphanReaped(r)
	case "many":
		err = checkMany(r, 40)
	case "after-stop":
		cancel()
		<-done
		return checkStatus(r, "exit 5", 5)
	default:
		err = fmt.Errorf("unknown scenario %q", scenario)
	}
	cancel()
	if runErr := <-done; runErr != nil && err == nil {
		err = runErr
	}
	return err
}

func spawnShell(r *Reaper, script string, stdout *os.File) (*Waiter, error) {
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Stdout = stdout
	return r.Spawn(func() (int, error) {
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		return cmd.Process.Pid, nil
	})
}

func waitStatus(w *Waiter) (unix.WaitStatus, error) {
	select {
	case <-w.Done():
		return w.Status()
	case <-time.After(20 * time.Second):
		return 0, fmt.Errorf("pid %d: no status delivered", w.PID())
	}
}

func checkStatus(r *Reaper, script string, want int) error {
	w, err := spawnShell(r, script, nil)
	if err != nil {
		return err
	}
	ws, err := waitStatus(w)
	if err != nil {
		return err
	}
	if !ws.Exited() || ws.ExitStatus() != want {
		return fmt.Errorf("status %v, want exit %d", describe(ws), want)
	}
	return nil
}

// checkOrphanReaped starts a shell that backgrounds a sleep and exits. The
// sleep is reparented to this subreaper; once killed it must be reaped
// rather than left as a zombie.
func checkOrphanReaped(r *Reaper) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	w, err := spawnShell(r, "/bin/sleep 60 & echo $!", pw)
	pw.Close()
	if err != nil {
		return err
	}
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read grandchild pid: %w", err)
	}
	orphan, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return err
	}
	if ws, err := waitStatus(w); err != nil || ws.ExitStatus() != 0 {
		return fmt.Errorf("shell: %v %v", describe(ws), err)
	}
	if err := waitUntil(func() bool { return parentOf(orphan) == os.Getpid() }); err != nil {
		return fmt.Errorf("grandchild %d was not reparented to the subreaper: %w", orphan, err)
	}
	if err := unix.Kill(orphan, unix.SIGKILL); err != nil {
		return fmt.Errorf("kill orphan: %w", err)
	}
	if err := waitUntil(func() bool { return parentOf(orphan) == 0 }); err != nil {
		return fmt.Errorf("orphan %d still exists (zombie?): %w", orphan, err)
	}
	return nil
}

// checkMany starts short-lived children concurrently, racing fork and
// registration with sweeps, and expects every status to reach its waiter.
func checkMany(r *Reaper, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- checkStatus(r, fmt.Sprintf("exit %d", i%7), i%7) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// parentOf returns the parent PID of pid, or 0 when pid no longer exists.
func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; fields after the last ')' are fixed.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

func waitUntil(cond func() bool) error {
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met in 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

func TestShouldReap(t *testing.T) {
	if !ShouldReap(true) {
		t.Error("ShouldReap(true) = false")
	}
	if ShouldReap(false) != (os.Getpid() == 1) {
		t.Error("ShouldReap(false) must hold only for PID 1")
	}
}
