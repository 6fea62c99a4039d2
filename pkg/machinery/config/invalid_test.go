package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

type mutate func(m *v1alpha1.MachineConfig)

// invalidCase is a config that must be rejected with a message that names
// the field path and says what was expected.
type invalidCase struct {
	name   string
	mode   validation.Mode
	worker bool
	mutate mutate
	// raw edits the encoded valid config: replace old with new.
	old, new string
	// extra documents appended to the config.
	extra string
	want  []string
	// lineOf, when set, is a substring of the final text whose line the first problem must point at.
	lineOf string
}

func invalidCases() []invalidCase {
	f := fix
	return []invalidCase{
		// Structure and YAML.
		{name: "yaml syntax", old: "  hostname: cp-1", new: "  hostname: cp-1\n  : [", want: []string{"invalid YAML"}},
		{name: "missing kind", old: "kind: MachineConfig\n", new: "", want: []string{"kind: missing"}},
		{name: "missing apiVersion", old: "apiVersion: v1alpha1\n", new: "", want: []string{"apiVersion: missing", `expected "v1alpha1"`}},
		{name: "unknown kind", old: "kind: MachineConfig", new: "kind: MachinConfig", want: []string{`unknown kind "MachinConfig"`, "MachineConfig"}},
		{name: "wrong apiVersion", old: "apiVersion: v1alpha1", new: "apiVersion: v1", want: []string{`"v1" is not served for kind MachineConfig`}},
		{name: "unknown field", old: "    hostname: cp-1", new: "    hostnme: cp-1", lineOf: "hostnme",
			want: []string{"machine.network.hostnme", `unknown field "hostnme"`, "hostname"}},
		{name: "wrong type int", old: "  network:\n", new: "  network:\n    interfaces:\n      - interface: eth1\n        mtu: big\n", lineOf: "mtu: big",
			want: []string{"machine.network.interfaces[0].mtu", "big"}},
		{name: "wrong type bool", old: "  install:\n", new: "  install:\n    wipe: maybe\n", lineOf: "wipe: maybe",
			want: []string{"machine.install.wipe", "maybe"}},
		{name: "list expected", old: "  certSANs:\n    - a.b", new: "  certSANs: a.b", lineOf: "certSANs: a.b", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.CertSANs = []string{"a.b"} },
			want: []string{"machine.certSANs", "expected a list"}},
		{name: "map expected", old: "  network:\n", new: "  network: eth0\n  unused:\n", want: []string{"machine.network", "expected a map"}},
		{name: "field twice", old: "    hostname: cp-1", new: "    hostname: cp-1\n    hostname: cp-2", want: []string{"hostname"}},
		{name: "bad base64 crt", old: "  ca:\n    crt: ", new: "  ca:\n    crt: '!!notbase64'\n    x: ", want: []string{"machine.ca"}},
		{name: "second MachineConfig", extra: "apiVersion: v1alpha1\nkind: MachineConfig\nmachine:\n  type: worker\n", want: []string{"a second MachineConfig"}},
		{name: "no MachineConfig", old: "kind: MachineConfig", new: "kind: ManifestsConfig", want: []string{"ManifestsConfig"}},
		// machine.
		{name: "machine missing", mutate: func(m *v1alpha1.MachineConfig) { m.Machine = nil }, want: []string{"machine: missing"}},
		{name: "type missing", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Type = "" }, want: []string{"machine.type: missing"}},
		{name: "type invalid", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Type = "master" }, want: []string{`machine.type: "master" is not a machine type`}},
		{name: "machine token", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Token = "ABC.def" }, want: []string{"machine.token", "abcdef.0123456789abcdef"}},
		{name: "os ca missing", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.CA = nil }, want: []string{"machine.ca: missing"}},
		{name: "os ca key mismatch", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.CA.Key = f.Other.Key }, want: []string{"machine.ca.key: does not match crt"}},
		{name: "os ca crt garbage", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.CA.Crt = []byte("hello") }, want: []string{"machine.ca.crt: is not a PEM certificate"}},
		{name: "control plane without os key", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.CA.Key = nil }, want: []string{"machine.ca.key: missing"}},
		{name: "worker with os key", worker: true, mutate: func(m *v1alpha1.MachineConfig) { m.Machine.CA.Key = f.OS.Key }, want: []string{"machine.ca.key: a worker must not carry the CA private key"}},
		{name: "certSAN invalid", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.CertSANs = []string{"ok.example", "not a name"} }, want: []string{"machine.certSANs[1]", "neither an IP address nor a DNS name"}},
		{name: "install disk", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Install.Disk = "vda" }, want: []string{"machine.install.disk", "under /dev"}},
		{name: "install disk container", mode: validation.ModeContainer, want: []string{"machine.install.disk", "container-mode node cannot be installed"}},
		{name: "hostname", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Network.Hostname = "Bad_Host" }, want: []string{"machine.network.hostname", "not a valid hostname"}},
		{name: "interface and selector", mutate: func(m *v1alpha1.MachineConfig) {
			m.Machine.Network.Interfaces[0].DeviceSelector = &v1alpha1.DeviceSelector{HardwareAddr: "52:54:00:*"}
		}, want: []string{"machine.network.interfaces[0]", "both interface and deviceSelector"}},
		{name: "interface neither", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Network.Interfaces[0].Interface = "" }, want: []string{"neither interface nor deviceSelector"}},
		{name: "duplicate interface", mutate: func(m *v1alpha1.MachineConfig) {
			m.Machine.Network.Interfaces = append(m.Machine.Network.Interfaces, v1alpha1.Interface{Interface: "eth0", DHCP: true})
		}, want: []string{"machine.network.interfaces[1]", "already configured by machine.network.interfaces[0]"}},
		{name: "address not cidr", mutate: func(m *v1alpha1.MachineConfig) {
			m.Machine.Network.Interfaces[0].Addresses = []string{"10.5.0.2/24", "10.5.0.3"}
		},
			want: []string{"machine.network.interfaces[0].addresses[1]", "not in CIDR form"}},
		{name: "route network", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Network.Interfaces[0].Routes[0].Network = "default" },
			want: []string{"machine.network.interfaces[0].routes[0].network", "not in CIDR form"}},
		{name: "route gateway", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Network.Interfaces[0].Routes[0].Gateway = "gw" },
			want: []string{"machine.network.interfaces[0].routes[0].gateway", "not an IP address"}},
		{name: "route family", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Network.Interfaces[0].Routes[0].Gateway = "fd00::1" },
			want: []string{"routes[0].gateway", "same IP family"}},
		{name: "mtu range", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Network.Interfaces[0].MTU = 70000 }, want: []string{"interfaces[0].mtu", "68 to 65535"}},
		{name: "nameserver", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Network.Nameservers = []string{"dns.example"} }, want: []string{"machine.network.nameservers[0]"}},
		{name: "host entry", mutate: func(m *v1alpha1.MachineConfig) {
			m.Machine.Network.ExtraHostEntries = []v1alpha1.HostEntry{{IP: "300.1.1.1", Aliases: []string{"x"}}}
		}, want: []string{"machine.network.extraHostEntries[0].ip"}},
		{name: "time server", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Time = &v1alpha1.Time{Servers: []string{"ntp server"}} }, want: []string{"machine.time.servers[0]"}},
		{name: "sysctl name", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Sysctls = map[string]string{"ip forward": "1"} }, want: []string{`machine.sysctls["ip forward"]`}},
		{name: "sysctl host-wide in container", mode: validation.ModeContainer, mutate: func(m *v1alpha1.MachineConfig) {
			m.Machine.Install = nil
			m.Machine.Sysctls = map[string]string{"vm.overcommit_memory": "1"}
		}, want: []string{`machine.sysctls["vm.overcommit_memory"]`, "would change the host's kernel"}},
		{name: "kernel module name", mutate: func(m *v1alpha1.MachineConfig) {
			m.Machine.Kernel = &v1alpha1.Kernel{Modules: []v1alpha1.KernelModule{{Name: "br netfilter"}}}
		},
			want: []string{"machine.kernel.modules[0].name"}},
		{name: "kernel module in container", mode: validation.ModeContainer, mutate: func(m *v1alpha1.MachineConfig) {
			m.Machine.Install = nil
			m.Machine.Kernel = &v1alpha1.Kernel{Modules: []v1alpha1.KernelModule{{Name: "br_netfilter"}}}
		}, want: []string{"machine.kernel.modules", "cannot load kernel modules"}},
		{name: "file path relative", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Files = []v1alpha1.File{{Path: "var/x", Content: "x"}} }, want: []string{"machine.files[0].path"}},
		{name: "file path read-only", mutate: func(m *v1alpha1.MachineConfig) {
			m.Machine.Files = []v1alpha1.File{{Path: "/etc/passwd", Content: "x"}}
		}, want: []string{"machine.files[0].path", "read-only"}},
		{name: "file op", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Files = []v1alpha1.File{{Path: "/var/x", Op: "prepend"}} }, want: []string{"machine.files[0].op", "create, append"}},
		{name: "file permissions", mutate: func(m *v1alpha1.MachineConfig) {
			m.Machine.Files = []v1alpha1.File{{Path: "/var/x", Permissions: 0o17777}}
		}, want: []string{"machine.files[0].permissions"}},
		{name: "env name", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.Env = map[string]string{"1PROXY": "x"} }, want: []string{`machine.env["1PROXY"]`}},
		{name: "kubelet subnets", mutate: func(m *v1alpha1.MachineConfig) {
			m.Machine.Kubelet = &v1alpha1.Kubelet{NodeIP: &v1alpha1.NodeIP{ValidSubnets: []string{"10.0.0.0/8", "!bad"}}}
		}, want: []string{"machine.kubelet.nodeIP.validSubnets[1]"}},
		{name: "kubelet extraArgs dashes", mutate: func(m *v1alpha1.MachineConfig) {
			m.Machine.Kubelet = &v1alpha1.Kubelet{ExtraArgs: map[string]string{"--max-pods": "10"}}
		},
			want: []string{`machine.kubelet.extraArgs["--max-pods"]`, "without leading dashes"}},
		{name: "node label", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.NodeLabels = map[string]string{"bad key!": "x"} }, want: []string{"machine.nodeLabels", "not a label key"}},
		{name: "node taint effect", mutate: func(m *v1alpha1.MachineConfig) { m.Machine.NodeTaints = map[string]string{"gpu": "true:Never"} }, want: []string{`machine.nodeTaints["gpu"]`, "NoSchedule"}},
		{name: "mirror endpoint", mutate: func(m *v1alpha1.MachineConfig) {
			m.Machine.Registries = &v1alpha1.Registries{Mirrors: map[string]v1alpha1.Mirror{"docker.io": {Endpoints: []string{"ftp://mirror"}}}}
		}, want: []string{`machine.registries.mirrors["docker.io"].endpoints[0]`, "http or https"}},
		// cluster.
		{name: "cluster missing", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster = nil }, want: []string{"cluster: missing"}},
		{name: "endpoint missing", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.ControlPlane = nil }, want: []string{"cluster.controlPlane.endpoint: missing"}},
		{name: "endpoint http", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.ControlPlane.Endpoint = "http://10.5.0.2:6443" },
			want: []string{"cluster.controlPlane.endpoint", `scheme "http"`, "expected https"}},
		{name: "endpoint not url", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.ControlPlane.Endpoint = "10.5.0.2:6443" }, want: []string{"cluster.controlPlane.endpoint"}},
		{name: "cluster name", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.ClusterName = "Demo Cluster" }, want: []string{"cluster.clusterName"}},
		{name: "kubernetes version", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.KubernetesVersion = "latest" }, want: []string{"cluster.kubernetesVersion", "v1.37.2"}},
		{name: "dns domain", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.Network.DNSDomain = "cluster_local" }, want: []string{"cluster.network.dnsDomain"}},
		{name: "pod subnet", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.Network.PodSubnets = []string{"10.244.0.0"} }, want: []string{"cluster.network.podSubnets[0]"}},
		{name: "pod subnet host bits", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.Network.PodSubnets = []string{"10.244.1.0/16"} }, want: []string{"host bits", "10.244.0.0/16"}},
		{name: "subnets overlap", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.Network.ServiceSubnets = []string{"10.244.0.0/24"} }, want: []string{"cluster.network.serviceSubnets[0]", "overlaps"}},
		{name: "subnet families", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.Network.ServiceSubnets = []string{"fd00:10:96::/112"} }, want: []string{"IP families differ"}},
		{name: "two v4 pod subnets", mutate: func(m *v1alpha1.MachineConfig) {
			m.Cluster.Network.PodSubnets = []string{"10.244.0.0/16", "10.245.0.0/16"}
		}, want: []string{"at most one per IP family"}},
		{name: "cni", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.Network.CNI = &v1alpha1.CNI{Name: "calico"} }, want: []string{"cluster.network.cni.name", "flannel, none"}},
		{name: "bootstrap token", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.Token = "abcdef0123456789abcdef" }, want: []string{"cluster.token"}},
		{name: "secretbox length", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.SecretboxEncryptionSecret = "c2hvcnQ=" }, want: []string{"cluster.secretboxEncryptionSecret", "32 random bytes"}},
		{name: "k8s ca mismatch", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.CA.Key = f.Etcd.Key }, want: []string{"cluster.ca.key: does not match"}},
		{name: "k8s ca is not a ca", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.CA = leaf() }, want: []string{"cluster.ca.crt: is not a CA certificate"}},
		{name: "control plane missing sa key", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.ServiceAccount = nil }, want: []string{"cluster.serviceAccount.key: missing"}},
		{name: "sa key garbage", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.ServiceAccount.Key = []byte("nope") }, want: []string{"cluster.serviceAccount.key: is not a PEM private key"}},
		{name: "control plane missing etcd ca", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.Etcd = nil }, want: []string{"cluster.etcd.ca: missing"}},
		{name: "worker with k8s ca key", worker: true, mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.CA.Key = f.K8s.Key }, want: []string{"cluster.ca.key: a worker must not carry"}},
		{name: "worker with sa key", worker: true, mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.ServiceAccount = &v1alpha1.ServiceAccount{Key: f.SAKey} },
			want: []string{"cluster.serviceAccount.key: a worker must not carry"}},
		{name: "worker with etcd key", worker: true, mutate: func(m *v1alpha1.MachineConfig) {
			m.Cluster.Etcd = &v1alpha1.Etcd{CA: &pki.CertAndKey{Crt: f.Etcd.Crt, Key: f.Etcd.Key}}
		},
			want: []string{"cluster.etcd.ca.key: a worker must not carry"}},
		{name: "worker with secretbox", worker: true, mutate: func(m *v1alpha1.MachineConfig) {
			m.Cluster.SecretboxEncryptionSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
		},
			want: []string{"cluster.secretboxEncryptionSecret: a worker must not carry"}},
		{name: "etcd subnet", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.Etcd.AdvertisedSubnets = []string{"x"} }, want: []string{"cluster.etcd.advertisedSubnets[0]"}},
		{name: "apiserver san", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.APIServer = &v1alpha1.APIServer{CertSANs: []string{"_bad"}} }, want: []string{"cluster.apiServer.certSANs[0]"}},
		{name: "proxy mode", mutate: func(m *v1alpha1.MachineConfig) { m.Cluster.Proxy = &v1alpha1.Proxy{Mode: "ipvs"} }, want: []string{"cluster.proxy.mode", "iptables, nftables"}},
		{name: "manifest name duplicate", mutate: func(m *v1alpha1.MachineConfig) {
			m.Cluster.InlineManifests = []v1alpha1.InlineManifest{{Name: "a", Contents: "apiVersion: v1\nkind: Namespace\n"}, {Name: "a", Contents: "apiVersion: v1\nkind: Namespace\n"}}
		}, want: []string{"cluster.inlineManifests[1].name", "unique"}},
		{name: "manifest not kubernetes", mutate: func(m *v1alpha1.MachineConfig) {
			m.Cluster.InlineManifests = []v1alpha1.InlineManifest{{Name: "a", Contents: "hello: world\n"}}
		}, want: []string{"cluster.inlineManifests[0].contents", "apiVersion and kind"}},
		// Other kinds.
		{name: "trusted roots garbage", extra: "apiVersion: v1alpha1\nkind: TrustedRootsConfig\nname: corp\ncertificates: nope\n", want: []string{"TrustedRootsConfig corp", "certificates", "no PEM certificate"}},
		{name: "trusted roots no name", extra: "apiVersion: v1alpha1\nkind: TrustedRootsConfig\ncertificates: nope\n", want: []string{"name: missing"}},
		{name: "manifests duplicate name", extra: "apiVersion: v1alpha1\nkind: ManifestsConfig\nname: a\ncontents: 'apiVersion: v1\n\n  kind: Namespace'\n---\napiVersion: v1alpha1\nkind: ManifestsConfig\nname: a\ncontents: x\n",
			want: []string{`a second ManifestsConfig named "a"`}},
		{name: "manifests unknown field", extra: "apiVersion: v1alpha1\nkind: ManifestsConfig\nname: a\ncontent: x\n", lineOf: "content: x", want: []string{"ManifestsConfig a", `unknown field "content"`}},
	}
}

// leaf returns a certificate that is not a CA.
func leaf() *pki.CertAndKey {
	ca, err := pki.ParseCA(fix.K8s)
	if err != nil {
		panic(err)
	}
	ck, err := ca.Issue(pki.CertOptions{Subject: pki.Subject{CommonName: "leaf"}, Usage: pki.UsageServer, Validity: 3600e9})
	if err != nil {
		panic(err)
	}
	return ck
}

func TestInvalidConfigs(t *testing.T) {
	getFixture(t)
	cases := invalidCases()
	if len(cases) < 40 {
		t.Fatalf("want at least 40 invalid cases, have %d", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := validControlPlane(t)
			if tc.worker {
				m = validWorker(t)
			}
			if tc.mutate != nil {
				tc.mutate(m)
			}
			text := encode(t, m)
			if tc.old != "" {
				text = edit(t, text, tc.old, tc.new)
			}
			if tc.extra != "" {
				text = append(text, []byte("---\n"+tc.extra)...)
			}
			mode := tc.mode
			if mode == "" {
				mode = validation.ModeMetal
			}
			err := loadAndValidate(text, mode)
			if err == nil {
				t.Fatalf("config accepted, want error containing %q:\n%s", tc.want, text)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%s", w, msg)
				}
			}
			var ps validation.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is %T, want validation.Problems", err)
			}
			for _, p := range ps {
				if p.Position.Line == 0 && p.Document != "config" {
					t.Errorf("problem without a line: %s", p)
				}
			}
			if tc.lineOf != "" {
				want := fmt.Sprintf("line %d:", lineOf(t, text, tc.lineOf))
				if !strings.Contains(ps[0].String(), want) {
					t.Errorf("first problem %q does not point at %s", ps[0], want)
				}
			}
		})
	}
}

func loadAndValidate(text []byte, mode validation.Mode) error {
	c, err := config.Load(text)
	if err != nil {
		return err
	}
	_, err = c.Validate(mode)
	return err
}
