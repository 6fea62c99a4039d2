package config_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// fixture holds real CAs so that valid configs pass certificate checks.
type fixture struct {
	OS, K8s, Aggregator, Etcd, Other *pki.CertAndKey
	SAKey                            []byte
}

var (
	fixtureOnce sync.Once
	fix         fixture
)

func mustCA(t testing.TB, name string, kt pki.KeyType) *pki.CertAndKey {
	t.Helper()
	ca, err := pki.NewCA(pki.CAOptions{CommonName: name, Organization: []string{name}, KeyType: kt, Validity: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func getFixture(t testing.TB) fixture {
	fixtureOnce.Do(func() {
		fix.OS = mustCA(t, "os", pki.KeyEd25519)
		fix.K8s = mustCA(t, "kubernetes", "")
		fix.Aggregator = mustCA(t, "aggregator", "")
		fix.Etcd = mustCA(t, "etcd", "")
		fix.Other = mustCA(t, "other", "")
		k, err := pki.GenerateKeyPEM("")
		if err != nil {
			t.Fatal(err)
		}
		fix.SAKey = k
	})
	return fix
}

func certOnly(ck *pki.CertAndKey) *pki.CertAndKey { return &pki.CertAndKey{Crt: ck.Crt} }

// validControlPlane returns a complete, valid control-plane config.
func validControlPlane(t testing.TB) *v1alpha1.MachineConfig {
	f := getFixture(t)
	return &v1alpha1.MachineConfig{
		TypeMeta: v1alpha1.TypeMeta{APIVersion: "v1alpha1", Kind: "MachineConfig"},
		Machine: &v1alpha1.Machine{
			Type:  "controlplane",
			Token: "abcdef.0123456789abcdef",
			CA:    &pki.CertAndKey{Crt: f.OS.Crt, Key: f.OS.Key},
			Network: &v1alpha1.Network{
				Hostname: "cp-1",
				Interfaces: []v1alpha1.Interface{{
					Interface: "eth0",
					Addresses: []string{"10.5.0.2/24"},
					Routes:    []v1alpha1.Route{{Network: "0.0.0.0/0", Gateway: "10.5.0.1"}},
				}},
			},
			Install: &v1alpha1.Install{Disk: "/dev/vda"},
		},
		Cluster: &v1alpha1.Cluster{
			ID:                        "Y2x1c3Rlci1pZA==",
			Secret:                    "c2VjcmV0",
			ClusterName:               "demo",
			ControlPlane:              &v1alpha1.ControlPlane{Endpoint: "https://10.5.0.2:6443"},
			Network:                   &v1alpha1.ClusterNetwork{DNSDomain: "cluster.local", PodSubnets: []string{"10.244.0.0/16"}, ServiceSubnets: []string{"10.96.0.0/12"}},
			Token:                     "uvwxyz.0123456789abcdef",
			SecretboxEncryptionSecret: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
			CA:                        &pki.CertAndKey{Crt: f.K8s.Crt, Key: f.K8s.Key},
			AggregatorCA:              &pki.CertAndKey{Crt: f.Aggregator.Crt, Key: f.Aggregator.Key},
			ServiceAccount:            &v1alpha1.ServiceAccount{Key: f.SAKey},
			Etcd:                      &v1alpha1.Etcd{CA: &pki.CertAndKey{Crt: f.Etcd.Crt, Key: f.Etcd.Key}},
		},
	}
}

// validWorker returns a complete, valid worker config.
func validWorker(t testing.TB) *v1alpha1.MachineConfig {
	f := getFixture(t)
	m := validControlPlane(t)
	m.Machine.Type = "worker"
	m.Machine.CA = certOnly(f.OS)
	m.Cluster.CA = certOnly(f.K8s)
	m.Cluster.AggregatorCA = nil
	m.Cluster.ServiceAccount = nil
	m.Cluster.Etcd = nil
	m.Cluster.SecretboxEncryptionSecret = ""
	m.Cluster.ID, m.Cluster.Secret = "", ""
	return m
}

// encode renders documents as YAML.
func encode(t testing.TB, docs ...config.Document) []byte {
	t.Helper()
	b, err := config.New(docs...).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lineOf returns the 1-based line of the first line containing substr.
func lineOf(t testing.TB, text []byte, substr string) int {
	t.Helper()
	for i, l := range strings.Split(string(text), "\n") {
		if strings.Contains(l, substr) {
			return i + 1
		}
	}
	t.Fatalf("%q not found in config", substr)
	return 0
}

// edit replaces the first occurrence of old in text, failing when absent.
func edit(t testing.TB, text []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(text, []byte(old)) {
		t.Fatalf("%q not found in config:\n%s", old, text)
	}
	return bytes.Replace(text, []byte(old), []byte(new), 1)
}
