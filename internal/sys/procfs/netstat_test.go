package procfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/api/machine"
)

// short renders a record compactly for table comparisons.
func short(r *machine.ConnectRecord) string {
	s := fmt.Sprintf("%s %s:%d %s:%d %s tx=%d rx=%d ino=%d",
		r.L4Proto, r.LocalIp, r.LocalPort, r.RemoteIp, r.RemotePort, r.State, r.TxQueue, r.RxQueue, r.Inode)
	if r.Pid != 0 || r.ProcessName != "" {
		s += fmt.Sprintf(" %d/%s", r.Pid, r.ProcessName)
	}
	return s
}

var (
	tcpListen  = "tcp 0.0.0.0:50000 0.0.0.0:0 LISTEN tx=0 rx=0 ino=1081"
	tcpEstab   = "tcp 127.0.0.1:3306 127.0.0.1:40000 ESTABLISHED tx=26 rx=2 ino=2002"
	tcpWait    = "tcp 192.0.2.2:32924 203.0.113.80:443 TIME_WAIT tx=0 rx=0 ino=0"
	tcp6Listen = "tcp6 :::8080 :::0 LISTEN tx=0 rx=0 ino=4004"
	tcp6Mapped = "tcp6 ::ffff:127.0.0.1:8080 ::ffff:127.0.0.1:54321 ESTABLISHED tx=0 rx=0 ino=5005"
	tcp6Estab  = "tcp6 2001:db8::1:22 2001:db8::2:58082 ESTABLISHED tx=0 rx=0 ino=6006"
	udpUnconn  = "udp 127.0.0.53:53 0.0.0.0:0 UNCONN tx=0 rx=0 ino=3003"
	udpConn    = "udp 10.0.2.15:68 10.0.2.2:67 ESTABLISHED tx=0 rx=256 ino=7007"
)

func TestNetstatFixture(t *testing.T) {
	tests := []struct {
		name string
		req  *machine.NetstatRequest
		want []string
	}{
		{
			name: "all protocols by default",
			req:  &machine.NetstatRequest{},
			want: []string{tcpListen, tcpEstab, tcpWait, tcp6Listen, tcp6Mapped, tcp6Estab, udpUnconn, udpConn},
		},
		{name: "nil request is all", req: nil, want: []string{tcpListen, tcpEstab, tcpWait, tcp6Listen, tcp6Mapped, tcp6Estab, udpUnconn, udpConn}},
		{
			name: "listening",
			req:  &machine.NetstatRequest{Filter: machine.NetstatRequest_LISTENING},
			want: []string{tcpListen, tcp6Listen, udpUnconn},
		},
		{
			name: "connected tcp only",
			req:  &machine.NetstatRequest{Filter: machine.NetstatRequest_CONNECTED, Tcp: true},
			want: []string{tcpEstab, tcpWait},
		},
		{
			name: "udp6 file missing is empty",
			req:  &machine.NetstatRequest{Udp6: true},
			want: nil,
		},
		{
			name: "tcp6 and udp",
			req:  &machine.NetstatRequest{Tcp6: true, Udp: true},
			want: []string{tcp6Listen, tcp6Mapped, tcp6Estab, udpUnconn, udpConn},
		},
		{
			name: "with pids",
			req:  &machine.NetstatRequest{Tcp: true, Udp: true, Pid: true},
			want: []string{
				tcpListen + " 1/init", // pid 100 holds it too; the lowest pid wins
				tcpEstab + " 100/server",
				tcpWait,
				udpUnconn + " 100/server",
				udpConn,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Netstat(fixtureProc, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, r := range got {
				lines = append(lines, short(r))
			}
			if strings.Join(lines, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseNetLineErrors(t *testing.T) {
	ok := []string{"0:", "0100007F:0035", "00000000:0000", "0A", "00000000:00000000", "00:00000000", "00000000", "0", "0", "1081"}
	tests := []struct {
		col     int
		value   string
		wantErr string
	}{
		{1, "0100007F", "local address"},
		{1, "01007F:0035", "8 or 32 hex digits"},
		{1, "zz00007F:0035", "8 or 32 hex digits"},
		{2, "00000000:XYZ", "remote address"},
		{2, "00000000:10000", "port"},
		{3, "G1", "state"},
		{4, "00000000", "want tx:rx"},
		{4, "x:0", "tx queue"},
		{4, "0:x", "rx queue"},
		{9, "-1", "inode"},
	}
	for _, tt := range tests {
		cols := append([]string(nil), ok...)
		cols[tt.col] = tt.value
		_, err := parseNetLine(strings.Join(cols, " "), "tcp")
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("column %d = %q: err = %v, want it to contain %q", tt.col, tt.value, err, tt.wantErr)
		}
	}
	if _, err := parseNetLine("0: 0100007F:0035", "tcp"); err == nil || !strings.Contains(err.Error(), "columns") {
		t.Errorf("short line: err = %v", err)
	}
	if rec, err := parseNetLine(strings.Join(ok, " "), "tcp"); err != nil || rec.State != "LISTEN" {
		t.Errorf("good line: %v, %v", rec, err)
	}
}

func TestStateName(t *testing.T) {
	tests := []struct {
		proto string
		st    uint64
		want  string
	}{
		{"tcp", 0x0A, "LISTEN"},
		{"tcp6", 0x06, "TIME_WAIT"},
		{"tcp", 0x07, "CLOSE"},
		{"udp", 0x07, "UNCONN"},
		{"udp6", 0x01, "ESTABLISHED"},
		{"tcp", 0x42, "UNKNOWN(0x42)"},
	}
	for _, tt := range tests {
		if got := stateName(tt.proto, tt.st); got != tt.want {
			t.Errorf("stateName(%s, %#x) = %q, want %q", tt.proto, tt.st, got, tt.want)
		}
	}
}

func TestNetstatCorruptFile(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "net", "udp"), []byte("header\n  0: bad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Netstat(root, &machine.NetstatRequest{Udp: true})
	if err == nil || !strings.Contains(err.Error(), "udp: line 2") {
		t.Errorf("err = %v, want one naming the file and line 2", err)
	}
}

func TestParseSocketLink(t *testing.T) {
	tests := map[string]uint64{"socket:[1081]": 1081, "socket:[0]": 0}
	for in, want := range tests {
		if got, ok := parseSocketLink(in); !ok || got != want {
			t.Errorf("parseSocketLink(%q) = %d, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"pipe:[1]", "socket:[x]", "socket:[1", "/dev/null", ""} {
		if _, ok := parseSocketLink(bad); ok {
			t.Errorf("parseSocketLink(%q): want not a socket", bad)
		}
	}
}

// TestNetstatLive reads this machine's tables without checking contents.
func TestNetstatLive(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skipf("no /proc/net/tcp here: %v", err)
	}
	if _, err := Netstat("/proc", &machine.NetstatRequest{Pid: true}); err != nil {
		t.Fatal(err)
	}
}
