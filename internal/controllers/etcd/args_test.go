package etcd

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestEtcdArgs(t *testing.T) {
	base := argsInput{name: "cp1", ip: netip.MustParseAddr("10.5.0.2")}

	common := []string{
		"/usr/bin/etcd",
		"--name=cp1",
		"--data-dir=/var/lib/etcd",
		"--listen-client-urls=https://10.5.0.2:2379,https://127.0.0.1:2379",
		"--advertise-client-urls=https://10.5.0.2:2379",
		"--listen-peer-urls=https://10.5.0.2:2380",
		"--initial-advertise-peer-urls=https://10.5.0.2:2380",
		"--listen-metrics-urls=http://127.0.0.1:2381",
		"--cert-file=/system/secrets/etcd/server.crt",
		"--key-file=/system/secrets/etcd/server.key",
		"--trusted-ca-file=/system/secrets/etcd/ca.crt",
		"--client-cert-auth=true",
		"--peer-cert-file=/system/secrets/etcd/peer.crt",
		"--peer-key-file=/system/secrets/etcd/peer.key",
		"--peer-trusted-ca-file=/system/secrets/etcd/ca.crt",
		"--peer-client-cert-auth=true",
	}

	tests := []struct {
		name string
		in   func(argsInput) argsInput
		want []string
	}{
		{"existing data", func(in argsInput) argsInput { return in }, common},
		{
			"bootstrap",
			func(in argsInput) argsInput {
				in.initial = initialCluster{members: "cp1=https://10.5.0.2:2380", state: stateNew}

				return in
			},
			append(slices.Clone(common), "--initial-cluster=cp1=https://10.5.0.2:2380", "--initial-cluster-state=new"),
		},
		{
			"join",
			func(in argsInput) argsInput {
				in.initial = initialCluster{members: "cp0=https://10.5.0.1:2380,cp1=https://10.5.0.2:2380", state: stateExisting}

				return in
			},
			append(slices.Clone(common),
				"--initial-cluster=cp0=https://10.5.0.1:2380,cp1=https://10.5.0.2:2380", "--initial-cluster-state=existing"),
		},
		{
			"extra args replace and add",
			func(in argsInput) argsInput {
				in.extraArgs = map[string]string{"listen-metrics-urls": "http://0.0.0.0:2381", "quota-backend-bytes": "8589934592", "auto-compaction-mode": "periodic"}

				return in
			},
			append(slices.Concat(common[:7], []string{"--listen-metrics-urls=http://0.0.0.0:2381"}, common[8:]),
				"--auto-compaction-mode=periodic", "--quota-backend-bytes=8589934592"),
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := etcdArgs(tt.in(base)); !slices.Equal(got, tt.want) {
				t.Errorf("args:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestEtcdArgsIPv6(t *testing.T) {
	args := etcdArgs(argsInput{name: "cp1", ip: netip.MustParseAddr("fd00::2")})
	if !slices.Contains(args, "--listen-peer-urls=https://[fd00::2]:2380") {
		t.Errorf("IPv6 peer URL not bracketed: %v", args)
	}
}

func TestAdvertisedIP(t *testing.T) {
	addrs := []string{"10.5.0.2/24", "192.168.1.5/24", "fd00::2/64"}

	tests := []struct {
		subnets []string
		want    string
		wantErr string
	}{
		{nil, "10.5.0.2", ""},
		{[]string{"192.168.0.0/16"}, "192.168.1.5", ""},
		{[]string{"0.0.0.0/0", "!10.0.0.0/8"}, "192.168.1.5", ""},
		{[]string{"fd00::/8"}, "fd00::2", ""},
		{[]string{"172.16.0.0/12"}, "", "no node address in cluster.etcd.advertisedSubnets"},
		{[]string{"nonsense"}, "", "cluster.etcd.advertisedSubnets"},
	}

	for _, tt := range tests {
		got, err := advertisedIP(addrs, tt.subnets)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: error %v, want %q", tt.subnets, err, tt.wantErr)
			}

			continue
		}

		if err != nil || got.String() != tt.want {
			t.Errorf("%v: %v (%v), want %s", tt.subnets, got, err, tt.want)
		}
	}

	if _, err := advertisedIP(nil, nil); err == nil {
		t.Error("no address: no error")
	}
}

func TestMemberList(t *testing.T) {
	members := []member{
		{ID: 1, Name: "cp0", PeerURLs: []string{"https://10.5.0.1:2380"}},
		{ID: 2, Name: "", PeerURLs: []string{"https://10.5.0.2:2380"}, Learner: true},
		{ID: 3, Name: "", PeerURLs: []string{"https://10.5.0.3:2380"}, Learner: true},
	}

	got := memberList(members, "cp1", "https://10.5.0.2:2380")
	if want := "cp0=https://10.5.0.1:2380,cp1=https://10.5.0.2:2380"; got != want {
		t.Errorf("initial cluster %q, want %q", got, want)
	}
}

func TestNodeAddresses(t *testing.T) {
	ranges := clusterRanges(nil) // the defaults: 10.244.0.0/16 and 10.96.0.0/12
	got := nodeAddresses([]string{"10.244.0.1/24", "10.5.0.2/24", "10.96.0.1/32", "fd00::2/64"}, ranges)

	if want := []string{"10.5.0.2/24", "fd00::2/64"}; !slices.Equal(got, want) {
		t.Errorf("node addresses %v, want %v", got, want)
	}
}
