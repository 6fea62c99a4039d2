package qemu

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseQMP(t *testing.T) {
	for _, tc := range []struct {
		line string
		want qmpMessage
	}{
		{`{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian"}, "capabilities": ["oob"]}}`, qmpMessage{Greeting: true}},
		{`{"return": {}}`, qmpMessage{}},
		{`{"timestamp": {"seconds": 1795829572, "microseconds": 765313}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-reset"}}`,
			qmpMessage{Event: "SHUTDOWN", Reason: "guest-reset", Guest: true}},
		{`{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-signal"}}`,
			qmpMessage{Event: "SHUTDOWN", Reason: "host-signal"}},
		{`{"event": "GUEST_PANICKED", "data": {"action": "pause", "info": {"type": "hyper-v"}}}`, qmpMessage{Event: "GUEST_PANICKED", Action: "pause"}},
		{`{"event": "RESET", "data": {"guest": true, "reason": "guest-reset"}}`, qmpMessage{Event: "RESET", Reason: "guest-reset", Guest: true}},
		{`{"error": {"class": "CommandNotFound", "desc": "The command foo has not been found"}}`,
			qmpMessage{Error: "CommandNotFound: The command foo has not been found"}},
	} {
		got, err := parseQMP([]byte(tc.line))
		if err != nil || got != tc.want {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", tc.line, got, err, tc.want)
		}
	}
	if _, err := parseQMP([]byte(`{"event": `)); err == nil || !strings.Contains(err.Error(), "QMP line") {
		t.Errorf("broken line: %v", err)
	}
}

// fakeQEMU plays QEMU's side of a monitor: the greeting, then, once the
// capabilities are negotiated, the given lines; then it hangs up.
func fakeQEMU(t *testing.T, conn net.Conn, lines ...string) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	io.WriteString(conn, `{"QMP": {"version": {}, "capabilities": []}}`+"\r\n")
	cmd, err := r.ReadString('\n')
	if err != nil || !strings.Contains(cmd, `"execute":"qmp_capabilities"`) {
		t.Errorf("first command %q, %v: want qmp_capabilities", cmd, err)
		return
	}
	io.WriteString(conn, `{"return": {}}`+"\r\n")
	for _, l := range lines {
		io.WriteString(conn, l+"\r\n")
	}
}

func TestQMPWatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lines  []string
		reason string
		events int
		err    string
	}{
		{"reboot", []string{`{"event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-reset"}}`}, "guest-reset", 1, ""},
		{"power-off", []string{`{"event": "POWERDOWN"}`, `{"event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}`}, "guest-shutdown", 2, ""},
		{"panic then reset", []string{`{"event": "GUEST_PANICKED", "data": {"action": "poweroff"}}`,
			`{"event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-reset"}}`}, "guest-panic", 2, ""},
		{"killed: no event", nil, "", 0, ""},
		{"garbage", []string{`not json`, `{"event": "SHUTDOWN", "data": {"reason": "host-signal"}}`}, "host-signal", 1, "QMP line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours, theirs := net.Pipe()
			go fakeQEMU(t, theirs, tc.lines...)
			var q qmpWatch
			events := 0
			done := make(chan struct{})
			go func() {
				defer close(done)
				q.follow(ours, func(qmpMessage) { events++ })
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("follow did not end when QEMU hung up")
			}
			reason, err := q.shutdownReason()
			if reason != tc.reason || events != tc.events || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("reason %q, %d events, error %v; want %q, %d, %q", reason, events, err, tc.reason, tc.events, tc.err)
			}
		})
	}
}
