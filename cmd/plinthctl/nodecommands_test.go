package main

import (
	"net"
	"regexp"
	"strings"
	"testing"
)

// nodeCase is one plinthctl run against the fake node, compared with
// testdata/<golden>.txt: the transcript and the calls the node got.
type nodeCase struct {
	golden string
	args   []string
}

// runNodeCases runs each case on a fresh fake node prepared by setup.
func runNodeCases(t *testing.T, cases []nodeCase, setup func(f *fakeNode)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			f := newFakeNode(t)
			if setup != nil {
				setup(f)
			}
			got := f.run(t, tc.args...)
			if calls := f.recorded(); len(calls) > 0 {
				got += "--- calls\n" + strings.Join(calls, "\n") + "\n"
			}
			golden(t, tc.golden+".txt", []byte(got))
		})
	}
}

const fanOut = "10.5.0.2,10.5.0.9,10.5.0.3" // 10.5.0.9 fails

func TestInspectCommands(t *testing.T) {
	runNodeCases(t, []nodeCase{
		{"version/fanout", []string{"version", "-n", "10.5.0.2,10.5.0.9"}},
		{"version/short", []string{"version", "--short", "-n", "10.5.0.2,10.5.0.3"}},
		{"version/client", []string{"version", "--client"}},
		{"services/fanout", []string{"services", "-n", fanOut}},
		{"services/one", []string{"services"}},
		{"service/status", []string{"service", "etcd"}},
		{"service/status-no-events", []string{"service", "kubelet", "status", "-n", "10.5.0.2,10.5.0.3"}},
		{"service/missing", []string{"service", "nope", "-n", "10.5.0.2,10.5.0.9"}},
		{"service/restart", []string{"service", "kubelet", "restart", "-n", fanOut}},
		{"service/bad-action", []string{"service", "kubelet", "reload"}},
		{"logs/one", []string{"logs", "etcd", "--tail", "5"}},
		{"logs/fanout", []string{"logs", "kubelet", "-f", "-n", fanOut}},
		{"logs/unknown", []string{"logs", "nope"}},
		{"dmesg/one", []string{"dmesg"}},
		{"dmesg/follow-tail", []string{"dmesg", "-f", "--tail", "-n", "10.5.0.2,10.5.0.3"}},
		{"dmesg/tail-without-follow", []string{"dmesg", "--tail"}},
		{"ps/pid", []string{"ps"}},
		{"ps/rss", []string{"ps", "--sort", "rss"}},
		{"ps/cpu-fanout", []string{"ps", "--sort", "cpu", "-n", "10.5.0.2,10.5.0.9"}},
		{"ps/bad-sort", []string{"ps", "--sort", "mem"}},
		{"memory/one", []string{"memory"}},
		{"memory/fanout", []string{"memory", "-n", fanOut}},
		{"mounts/one", []string{"mounts"}},
		{"netstat/connected", []string{"netstat"}},
		{"netstat/listening-tcp-programs", []string{"netstat", "-l", "-t", "-p"}},
		{"netstat/all-udp-fanout", []string{"netstat", "-a", "-u", "-n", "10.5.0.2,10.5.0.3"}},
		{"netstat/listening-and-all", []string{"netstat", "-l", "-a"}},
		{"read/file", []string{"read", "/etc/hostname"}},
		{"read/missing", []string{"read", "/etc/shadow"}},
		{"read/two-nodes", []string{"read", "/etc/hostname", "-n", "10.5.0.2,10.5.0.3"}},
		{"read/failing-node", []string{"read", "/etc/hostname", "-n", "10.5.0.9"}},
		{"ls/short", []string{"ls", "/var/log"}},
		{"ls/long-recursive", []string{"ls", "-l", "-r", "/var/log"}},
		{"ls/depth-fanout", []string{"ls", "-d", "1", "/var/log", "-n", "10.5.0.2,10.5.0.9"}},
		{"hostname/one", []string{"hostname"}},
		{"hostname/endpoint", []string{"hostname", "--context", "direct"}},
		{"hostname/fanout", []string{"hostname", "-n", fanOut}},
	}, nil)
}

func TestEventsCommand(t *testing.T) {
	runNodeCases(t, []nodeCase{
		{"events/tail-all-fanout", []string{"events", "--tail", "-1", "-n", "10.5.0.2,10.5.0.9"}},
		{"events/tail-2", []string{"events", "--tail", "2"}},
		{"events/none", []string{"events"}},
	}, func(f *fakeNode) {
		f.publish(seqEvent("boot", true), phaseEvent("boot", "mountState", true),
			machineEvent{service: "etcd", state: "Running", msg: "Health check successful"}.event(),
			machineEvent{config: "config applied without a reboot"}.event(),
			statusEvent("running", true))
	})
}

func TestConnectionErrors(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := lis.Addr().String()
	_ = lis.Close()
	f := newFakeNode(t)
	port := regexp.MustCompile(regexp.QuoteMeta(closed))
	var got strings.Builder
	for _, args := range [][]string{
		{"hostname", "--context", "nope"},
		{"hostname", "-e", closed},
		{"hostname", "-e", "https://10.5.0.2"},
	} {
		got.WriteString(port.ReplaceAllString(f.run(t, args...), "$$CLOSED"))
	}
	golden(t, "errors/connection.txt", []byte(got.String()))
}
