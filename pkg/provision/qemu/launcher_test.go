package qemu

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeQEMUScript is a QEMU stand-in: it speaks QMP on qmpFD, prints init's first
// line on the console, then plays the next of its runs (counted in a file
// beside it): a guest reset, a power cut (it kills itself), a guest power
// off. With "wait" it waits for SIGTERM, which it answers as QEMU does
// (SHUTDOWN host-signal).
const fakeQEMUScript = `#!/bin/sh
dir=$(dirname "$0")
run=$(($(cat "$dir/runs" 2>/dev/null || echo 0) + 1))
echo $run > "$dir/runs"
echo "$@" > "$dir/args.$run"
printf '{"QMP": {"version": {}, "capabilities": []}}\r\n' >&4
read -r negotiate <&4
printf '{"return": {}}\r\n' >&4
echo "plinth-init: started at uptime 0.5s (fake)"
event() { printf '{"event": "SHUTDOWN", "data": {"guest": %s, "reason": "%s"}}\r\n' "$1" "$2" >&4; }
case "$(sed -n "${run}p" "$dir/script")" in
reset) event true guest-reset ;;
cut) kill -9 $$ ;;
off) event true guest-shutdown ;;
fail) echo "qemu-system-x86_64: -drive file=x: Could not open" >&2; exit 1 ;;
wait) sleep 60 & trap 'kill $!; event false host-signal; exit 0' TERM; wait $! ;;
esac
exit 0
`

// runLauncher runs a launcher over the fake QEMU, whose runs play script,
// and returns it with the state directory; no network is made.
func runLauncher(t *testing.T, script ...string) (*launcher, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "qemu")
	if err := os.WriteFile(bin, []byte(fakeQEMUScript), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "script"), []byte(strings.Join(script, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := testSpec(dir)
	s.Binary, s.Nodes = bin, s.Nodes[:1]
	l := &launcher{spec: s, log: slog.New(slog.DiscardHandler), vms: map[string]*vm{},
		server:  netip.MustParseAddrPort("10.5.0.1:50080"),
		openTap: func(Network, string) (*os.File, error) { return os.Open(os.DevNull) }}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.status = newStatusRecorder(dir, os.Getpid(), time.Now, func(err error) { t.Error(err) })
	v, err := l.startVM(s.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	l.supervisors.Add(1)
	go l.supervise(s.Nodes[0], v)
	t.Cleanup(l.stop)
	return l, dir
}

// waitNode waits until the node's status satisfies ok.
func waitNode(t *testing.T, l *launcher, ok func(*NodeStatus) bool) NodeStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ns := l.status.snapshot().Nodes["demo-controlplane-1"]
		if ns != nil && ok(ns) {
			return *ns
		}
		if time.Now().After(deadline) {
			t.Fatalf("node status never as wanted: %+v", ns)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLauncherRestarts(t *testing.T) {
	l, dir := runLauncher(t, "reset", "cut", "off")
	ns := waitNode(t, l, func(n *NodeStatus) bool { return !n.Exited.IsZero() })
	// Reset and power cut restart; the power off stays off.
	if ns.Boots != 3 || ns.Restarts != 2 || ns.ExitError != "the guest powered off" || ns.BootMode != BootLive || !ns.RestartAt.IsZero() {
		t.Errorf("after reset, cut, off: %+v", ns)
	}
	if runs, _ := os.ReadFile(filepath.Join(dir, "runs")); strings.TrimSpace(string(runs)) != "3" {
		t.Errorf("%s QEMUs ran, want 3", runs)
	}
	console, _ := os.ReadFile(l.spec.consoleLog("demo-controlplane-1"))
	if n := strings.Count(string(console), "QEMU started, live boot"); n != 3 || strings.Count(string(console), "plinth-init: started") != 3 {
		t.Errorf("console of three runs:\n%s", console)
	}
	// Each start is a live boot with the config URL and -no-reboot.
	args, _ := os.ReadFile(filepath.Join(dir, "args.2"))
	if !strings.Contains(string(args), "-no-reboot") || !strings.Contains(string(args), "plinth.config=http://10.5.0.1:50080/configs/demo-controlplane-1.yaml") {
		t.Errorf("second QEMU's arguments: %s", args)
	}
}

func TestLauncherFailureStaysOff(t *testing.T) {
	l, _ := runLauncher(t, "fail", "off")
	ns := waitNode(t, l, func(n *NodeStatus) bool { return !n.Exited.IsZero() })
	if ns.Restarts != 0 || !strings.Contains(ns.ExitError, "QEMU failed (exit status 1): qemu-system-x86_64: -drive file=x: Could not open") {
		t.Errorf("a failed QEMU: %+v", ns)
	}
}

func TestLauncherStop(t *testing.T) {
	l, dir := runLauncher(t, "reset", "wait")
	ns := waitNode(t, l, func(n *NodeStatus) bool { return n.Restarts == 1 && n.Boots == 2 })
	l.stop()
	ns = waitNode(t, l, func(n *NodeStatus) bool { return !n.Exited.IsZero() })
	if ns.ExitError != "stopped by the launcher" || ns.Restarts != 1 {
		t.Errorf("after stop: %+v", ns)
	}
	if runs, _ := os.ReadFile(filepath.Join(dir, "runs")); strings.TrimSpace(string(runs)) != "2" {
		t.Errorf("%s QEMUs ran after stop, want 2", runs)
	}
	if _, err := l.startVM(l.spec.Nodes[0]); err != errStopping {
		t.Errorf("start after stop: %v", err)
	}
}
