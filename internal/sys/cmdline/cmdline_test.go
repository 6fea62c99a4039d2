package cmdline_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/internal/sys/cmdline"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []cmdline.Arg
	}{
		{"", nil},
		{"quiet\n", []cmdline.Arg{{Key: "quiet"}}},
		{"console=ttyS0  panic=-1 ro", []cmdline.Arg{
			{Key: "console", Value: "ttyS0", HasValue: true},
			{Key: "panic", Value: "-1", HasValue: true},
			{Key: "ro"},
		}},
		{`a="b c" d= "e=f g"`, []cmdline.Arg{
			{Key: "a", Value: "b c", HasValue: true},
			{Key: "d", HasValue: true},
			{Key: "e", Value: "f g", HasValue: true},
		}},
		{"x=1 -- init=2", []cmdline.Arg{{Key: "x", Value: "1", HasValue: true}}},
		{"k=a=b", []cmdline.Arg{{Key: "k", Value: "a=b", HasValue: true}}},
	} {
		if got := cmdline.Parse(tt.in).Args; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestGetLastWins(t *testing.T) {
	c := cmdline.Parse("ip=dhcp x ip=off")
	if v, ok := c.Get("ip"); !ok || v != "off" {
		t.Fatalf("Get(ip) = %q, %v", v, ok)
	}
	if _, ok := c.Get("y"); ok {
		t.Fatal("Get(y) found a missing key")
	}
}

func TestConfigURL(t *testing.T) {
	for in, want := range map[string]string{
		"quiet": "",
		"plinth.config=http://10.0.2.2:8080/worker.yaml":    "http://10.0.2.2:8080/worker.yaml",
		"plinth.config=https://cfg.example.com/a?b=c quiet": "https://cfg.example.com/a?b=c",
	} {
		got, err := cmdline.Parse(in).ConfigURL()
		if err != nil || got != want {
			t.Errorf("ConfigURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"plinth.config=ftp://x/y", "plinth.config=/local", "plinth.config=", "plinth.config=http://"} {
		if _, err := cmdline.Parse(in).ConfigURL(); err == nil || !strings.Contains(err.Error(), "plinth.config") {
			t.Errorf("ConfigURL(%q) = %v, want an error naming the argument", in, err)
		}
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte("ip=dhcp quiet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := cmdline.Read(dir)
	if err != nil || len(c.Args) != 2 {
		t.Fatalf("Read = %+v, %v", c, err)
	}
	if _, err := cmdline.Read(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("Read of a missing file succeeded")
	}
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func TestParseIP(t *testing.T) {
	a := netip.MustParseAddr
	for _, tt := range []struct {
		in   string
		want cmdline.IPConfig
	}{
		{"dhcp", cmdline.IPConfig{Mode: cmdline.IPDHCP}},
		{"on", cmdline.IPConfig{Mode: cmdline.IPDHCP}},
		{"off", cmdline.IPConfig{Mode: cmdline.IPOff}},
		{"none", cmdline.IPConfig{Mode: cmdline.IPOff}},
		{"10.0.2.15:10.0.2.2:10.0.2.2:255.255.255.0:node1.lan:eth0:off:10.0.2.3:1.1.1.1:10.0.2.4", cmdline.IPConfig{
			Mode: cmdline.IPStatic, Address: netip.MustParsePrefix("10.0.2.15/24"), Server: a("10.0.2.2"),
			Gateway: a("10.0.2.2"), Hostname: "node1.lan", Device: "eth0",
			DNS: addrs("10.0.2.3", "1.1.1.1"), NTP: addrs("10.0.2.4"),
		}},
		{"192.168.1.5::192.168.1.1:20::eth1", cmdline.IPConfig{
			Mode: cmdline.IPStatic, Address: netip.MustParsePrefix("192.168.1.5/20"), Gateway: a("192.168.1.1"), Device: "eth1",
		}},
		{"10.1.2.3", cmdline.IPConfig{Mode: cmdline.IPStatic, Address: netip.MustParsePrefix("10.1.2.3/8")}},
		{"172.16.0.9", cmdline.IPConfig{Mode: cmdline.IPStatic, Address: netip.MustParsePrefix("172.16.0.9/16")}},
		{"192.0.2.7:::::", cmdline.IPConfig{Mode: cmdline.IPStatic, Address: netip.MustParsePrefix("192.0.2.7/24")}},
		{":::::eth0:dhcp", cmdline.IPConfig{Mode: cmdline.IPDHCP, Device: "eth0"}},
		{"::::host::", cmdline.IPConfig{Mode: cmdline.IPDHCP, Hostname: "host"}},
		{":::::eth0:off", cmdline.IPConfig{Mode: cmdline.IPOff, Device: "eth0"}},
	} {
		got, err := cmdline.ParseIP(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseIP(%q) = %+v, %v\nwant %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseIPErrors(t *testing.T) {
	for _, in := range []string{
		"10.0.0.300", "fd00::1", "10.0.0.1::x", "10.0.0.1:::255.0.255.0", "10.0.0.1:::33",
		"10.0.0.1:::::eth0:sometimes", "1:2:3:4:5:6:7:8:9:10:11", "10.0.0.1:::::::bad",
	} {
		if _, err := cmdline.ParseIP(in); err == nil || !strings.Contains(err.Error(), "ip="+in) {
			t.Errorf("ParseIP(%q) = %v, want an error quoting the argument", in, err)
		}
	}
}

func TestCmdlineIP(t *testing.T) {
	ip, err := cmdline.Parse("quiet").IP()
	if ip != nil || err != nil {
		t.Fatalf("IP without ip= = %+v, %v", ip, err)
	}
	ip, err = cmdline.Parse("ip=off ip=dhcp").IP()
	if err != nil || ip.Mode != cmdline.IPDHCP {
		t.Fatalf("IP = %+v, %v", ip, err)
	}
	if _, err := cmdline.Parse("ip=1.2.3.4:::::::x").IP(); err == nil {
		t.Fatal("IP accepted a bad argument")
	}
}

func TestSysctlKeys(t *testing.T) {
	got := cmdline.Parse("console=ttyS0 panic=-1 sysctl.vm.swappiness=10 sysctl.net/ipv4/ip_forward=0 sysctl.=x quiet").SysctlKeys()
	want := []string{"kernel.panic", "vm.swappiness", "net.ipv4.ip_forward"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SysctlKeys = %q, want %q", got, want)
	}
	if got := cmdline.Parse("quiet").SysctlKeys(); got != nil {
		t.Fatalf("SysctlKeys without any = %q", got)
	}
}
