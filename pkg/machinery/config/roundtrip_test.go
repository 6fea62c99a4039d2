package config_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
)

func fullControlPlane(t testing.TB) *v1alpha1.MachineConfig {
	m := validControlPlane(t)
	yes := true
	m.Machine.CertSANs = []string{"10.5.0.2", "cp.example.com"}
	m.Machine.Network.Nameservers = []string{"1.1.1.1"}
	m.Machine.Network.ExtraHostEntries = []v1alpha1.HostEntry{{IP: "10.5.0.9", Aliases: []string{"reg.local"}}}
	m.Machine.Network.Interfaces = append(m.Machine.Network.Interfaces, v1alpha1.Interface{
		DeviceSelector: &v1alpha1.DeviceSelector{HardwareAddr: "52:54:00:*"}, DHCP: true, MTU: 9000,
	})
	m.Machine.Time = &v1alpha1.Time{Servers: []string{"time.cloudflare.com"}}
	m.Machine.Sysctls = map[string]string{"net.ipv4.ip_forward": "1"}
	m.Machine.Kernel = &v1alpha1.Kernel{Modules: []v1alpha1.KernelModule{{Name: "br_netfilter", Parameters: []string{"a=b"}}}}
	m.Machine.Files = []v1alpha1.File{{Path: "/var/etc/motd", Content: "hi\n", Permissions: 0o644, Op: "create"}}
	m.Machine.Env = map[string]string{"HTTPS_PROXY": "http://proxy:3128"}
	m.Machine.Kubelet = &v1alpha1.Kubelet{
		ExtraArgs:   map[string]string{"max-pods": "150"},
		ExtraConfig: map[string]any{"serializeImagePulls": false},
		NodeIP:      &v1alpha1.NodeIP{ValidSubnets: []string{"10.5.0.0/24"}},
	}
	m.Machine.NodeLabels = map[string]string{"topology.kubernetes.io/zone": "a"}
	m.Machine.NodeTaints = map[string]string{"dedicated": "gpu:NoSchedule"}
	m.Machine.Registries = &v1alpha1.Registries{Mirrors: map[string]v1alpha1.Mirror{"docker.io": {Endpoints: []string{"http://10.5.0.1:5000"}}}}
	m.Machine.Features = &v1alpha1.Features{RBAC: &yes}
	m.Cluster.KubernetesVersion = "v1.37.2"
	m.Cluster.Network.CNI = &v1alpha1.CNI{Name: "flannel"}
	m.Cluster.APIServer = &v1alpha1.APIServer{CertSANs: []string{"api.example.com"}, ExtraArgs: map[string]string{"audit-log-maxage": "7"}}
	m.Cluster.ControllerManager = &v1alpha1.Component{ExtraArgs: map[string]string{"v": "2"}}
	m.Cluster.Scheduler = &v1alpha1.Component{ExtraArgs: map[string]string{"v": "2"}}
	m.Cluster.Proxy = &v1alpha1.Proxy{Mode: "nftables"}
	m.Cluster.CoreDNS = &v1alpha1.CoreDNS{Disabled: false}
	m.Cluster.AllowSchedulingOnControlPlanes = true
	m.Cluster.InlineManifests = []v1alpha1.InlineManifest{{Name: "ns", Contents: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n"}}
	return m
}

func TestRoundTrip(t *testing.T) {
	f := getFixture(t)
	docs := []config.Document{
		fullControlPlane(t),
		&v1alpha1.TrustedRootsConfig{TypeMeta: v1alpha1.TypeMeta{APIVersion: "v1alpha1", Kind: "TrustedRootsConfig"}, Name: "corp", Certificates: string(f.Other.Crt)},
		&v1alpha1.ManifestsConfig{TypeMeta: v1alpha1.TypeMeta{APIVersion: "v1alpha1", Kind: "ManifestsConfig"}, Name: "extra", Contents: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: y\n"},
	}
	first := encode(t, docs...)
	c, err := config.Load(first)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, first)
	}
	warnings, err := c.Validate(validation.ModeMetal)
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	if len(warnings) != 0 {
		t.Errorf("unexpected warnings: %v", warnings)
	}
	if diff := cmp.Diff(docs, c.Documents()); diff != "" {
		t.Errorf("parse(encode(docs)) differs (-want +got):\n%s", diff)
	}
	second, err := c.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("encode(parse(encode)) is not stable:\n%s\n---\n%s", first, second)
	}
}

func TestValidWorker(t *testing.T) {
	c, err := config.Load(encode(t, validWorker(t)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Validate(validation.ModeMetal); err != nil {
		t.Fatal(err)
	}
	if c.Machine().IsControlPlane() {
		t.Error("worker reported as control plane")
	}
}

func TestWarnings(t *testing.T) {
	m := validWorker(t)
	m.Machine.Install = nil
	m.Machine.Time = &v1alpha1.Time{Disabled: true, Servers: []string{"pool.ntp.org"}}
	m.Cluster.AllowSchedulingOnControlPlanes = true
	m.Cluster.APIServer = &v1alpha1.APIServer{ExtraArgs: map[string]string{"etcd-servers": "https://x"}}
	c, err := config.Load(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	warnings, err := c.Validate(validation.ModeMetal)
	if err != nil {
		t.Fatalf("warnings must not be errors: %v", err)
	}
	want := []string{"machine.time.servers", "cluster.allowSchedulingOnControlPlanes", `cluster.apiServer.extraArgs["etcd-servers"]`}
	if len(warnings) != len(want) {
		t.Fatalf("got %d warnings, want %d: %v", len(warnings), len(want), warnings)
	}
	for _, w := range want {
		found := false
		for _, p := range warnings {
			found = found || p.Path == w
		}
		if !found {
			t.Errorf("no warning for %s in %v", w, warnings)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(encode(f, validControlPlane(f)))
	f.Add(encode(f, validWorker(f)))
	f.Add([]byte("apiVersion: v1alpha1\nkind: MachineConfig\nmachine: {type: worker}\n---\nkind: x\n"))
	f.Add([]byte("a: [1, {b: *c}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Load(data)
		if err != nil {
			return
		}
		_, _ = c.Validate(validation.ModeMetal)
		_, _ = c.Validate(validation.ModeContainer)
		out, err := c.Bytes()
		if err != nil {
			t.Fatalf("loaded config does not encode: %v", err)
		}
		if _, err := config.Load(out); err != nil {
			t.Fatalf("encoded config does not load again: %v\n%s", err, out)
		}
	})
}

func TestAliasCycleAndBomb(t *testing.T) {
	for name, text := range map[string]string{
		"cycle": "apiVersion: v1alpha1\nkind: MachineConfig\nmachine: &m\n  network: *m\n",
		"bomb":  "apiVersion: v1alpha1\nkind: MachineConfig\nmachine:\n  certSANs: &a [x, x, x, x, x, x, x, x, x, x]\n  kubelet: &b {extraArgs: {a: x}}\n" + bomb(),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := config.Load([]byte(text)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// bomb builds nested aliases that expand exponentially.
func bomb() string {
	s := "cluster:\n  inlineManifests: &l0 [{name: a, contents: b}, {name: a, contents: b}]\n  apiServer:\n    certSANs:\n"
	for i := 1; i < 20; i++ {
		s += "      - &l" + itoa(i) + " [*l" + itoa(i-1) + ", *l" + itoa(i-1) + "]\n"
	}
	return s
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }
