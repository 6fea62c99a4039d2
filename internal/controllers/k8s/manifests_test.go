package k8s

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-os/plinth/internal/kube"
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

var updateManifests = flag.Bool("update-manifests", false, "rewrite the golden manifests in testdata/manifests")

// goldenConfig is a fixed config, so that rendering is reproducible.
func goldenConfig() *config.Config {
	m := &v1alpha1.MachineConfig{
		TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: v1alpha1.KindMachineConfig},
		Machine:  &v1alpha1.Machine{Type: v1alpha1.TypeControlPlane},
		Cluster: &v1alpha1.Cluster{
			ClusterName:  "demo",
			ControlPlane: &v1alpha1.ControlPlane{Endpoint: "https://10.5.0.2:6443"},
			Token:        "abcdef.0123456789abcdef",
			CA:           &pki.CertAndKey{Crt: []byte("-----BEGIN CERTIFICATE-----\nZmFrZQ==\n-----END CERTIFICATE-----\n")},
			Network: &v1alpha1.ClusterNetwork{
				DNSDomain: "cluster.local", PodSubnets: []string{"10.244.0.0/16"}, ServiceSubnets: []string{"10.96.0.0/12"},
				CNI: &v1alpha1.CNI{Name: "flannel"},
			},
			InlineManifests: []v1alpha1.InlineManifest{{
				Name: "team", Contents: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n",
			}},
		},
	}

	return config.New(m, &v1alpha1.ManifestsConfig{
		TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: v1alpha1.KindManifestsConfig},
		Name:     "extra",
		Contents: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: team\n",
	})
}

func TestRenderManifestsGolden(t *testing.T) {
	manifests, err := renderManifests(goldenConfig())
	if err != nil {
		t.Fatal(err)
	}

	var ids []string

	for _, m := range manifests {
		ids = append(ids, m.id)

		objs, err := kube.ParseYAML([]byte(m.objects))
		if err != nil || len(objs) == 0 {
			t.Errorf("%s does not parse: %v", m.id, err)
		}

		golden := filepath.Join("testdata", "manifests", m.id+".yaml")
		if *updateManifests {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}

			if err := os.WriteFile(golden, []byte(m.objects), 0o644); err != nil {
				t.Fatal(err)
			}

			continue
		}

		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -run TestRenderManifestsGolden -update-manifests)", err)
		}

		if string(want) != m.objects {
			t.Errorf("%s differs from %s (run with -update-manifests and review the diff)", m.id, golden)
		}
	}

	want := []string{
		ManifestBootstrapToken, ManifestRBAC, ManifestClusterInfo, ManifestCoreDNS, ManifestFlannel,
		"50-inline-00-team", "60-manifests-00-extra",
	}
	if !slices.Equal(ids, want) {
		t.Errorf("manifests %v, want %v", ids, want)
	}
}

func TestRenderManifestsOptions(t *testing.T) {
	cfg := goldenConfig()
	m := cfg.Machine()
	m.Cluster.CoreDNS = &v1alpha1.CoreDNS{Disabled: true}
	m.Cluster.Network.CNI = &v1alpha1.CNI{Name: "none"}
	m.Cluster.Network.PodSubnets = []string{"10.244.0.0/16", "fd00:244::/56"}
	m.Cluster.Network.ServiceSubnets = []string{"10.100.0.0/16"}

	manifests, err := renderManifests(cfg)
	if err != nil {
		t.Fatal(err)
	}

	for _, r := range manifests {
		if r.id == ManifestCoreDNS || r.id == ManifestFlannel {
			t.Errorf("%s rendered although disabled", r.id)
		}
	}

	cl, err := newCluster(m.Cluster)
	if err != nil {
		t.Fatal(err)
	}

	if got := cl.dnsServiceIP().String(); got != "10.100.0.10" {
		t.Errorf("DNS service IP %s", got)
	}

	conf, err := flannelNetConf(cl)
	if err != nil || !strings.Contains(conf, `"IPv6Network":"fd00:244::/56"`) || !strings.Contains(conf, `"EnableIPv6":true`) {
		t.Errorf("net-conf.json %s (%v)", conf, err)
	}

	m.Cluster.Token = "nope"
	if _, err := renderManifests(cfg); err == nil || !strings.Contains(err.Error(), "cluster.token") {
		t.Errorf("bad token: %v", err)
	}
}

func TestBootstrapTokenSecret(t *testing.T) {
	manifests, err := renderManifests(goldenConfig())
	if err != nil {
		t.Fatal(err)
	}

	objs, err := kube.ParseYAML([]byte(manifests[0].objects))
	if err != nil {
		t.Fatal(err)
	}

	s := objs[0]
	if s.Name() != "bootstrap-token-abcdef" || s.Namespace() != "kube-system" || s["type"] != "bootstrap.kubernetes.io/token" {
		t.Fatalf("secret %v", s)
	}

	data, _ := s["data"].(map[string]any)
	// base64 of "0123456789abcdef" and of "system:bootstrappers:plinth".
	if data["token-secret"] != "MDEyMzQ1Njc4OWFiY2RlZg==" || data["auth-extra-groups"] != "c3lzdGVtOmJvb3RzdHJhcHBlcnM6cGxpbnRo" {
		t.Errorf("data %v", data)
	}
}
