package generate_test

import (
	"strings"
	"testing"

	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/generate"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
)

func newInput(t *testing.T) *generate.Input {
	t.Helper()
	b, err := secrets.NewBundle()
	if err != nil {
		t.Fatal(err)
	}
	return &generate.Input{ClusterName: "demo", Endpoint: "https://10.5.0.2:6443", Secrets: b}
}

func TestGeneratedConfigsAreValid(t *testing.T) {
	in := newInput(t)
	for _, typ := range []string{"controlplane", "worker"} {
		for _, mode := range []validation.Mode{validation.ModeMetal, validation.ModeContainer} {
			c, err := in.Config(typ)
			if err != nil {
				t.Fatal(err)
			}
			data, err := c.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			loaded, err := config.Load(data)
			if err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			if _, err := loaded.Validate(mode); err != nil {
				t.Errorf("%s in %s mode: %v", typ, mode, err)
			}
		}
	}
}

func TestWorkerCarriesNoPrivateKeys(t *testing.T) {
	m, err := newInput(t).MachineConfig("worker")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Machine.CA.Key) > 0 || len(m.Cluster.CA.Key) > 0 || m.Cluster.ServiceAccount != nil ||
		m.Cluster.Etcd != nil || m.Cluster.AggregatorCA != nil || m.Cluster.SecretboxEncryptionSecret != "" {
		t.Errorf("worker config carries control-plane secrets: %+v", m.Cluster)
	}
}

func TestClientConfig(t *testing.T) {
	cc, err := newInput(t).ClientConfig(generate.DefaultClientCertTTL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := cc.Current("")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ctx.Endpoints, ","); got != "10.5.0.2" {
		t.Errorf("endpoints = %q, want 10.5.0.2", got)
	}
	cert, err := ctx.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cert.Subject.Organization, ","); got != "os:admin" {
		t.Errorf("roles = %q, want os:admin", got)
	}
	if _, err := ctx.ClientCertificate(); err != nil {
		t.Errorf("client certificate and key do not pair: %v", err)
	}
}

func TestInputErrors(t *testing.T) {
	for _, tc := range []struct {
		name, cluster, endpoint, want string
	}{
		{"no scheme", "demo", "10.5.0.2:6443", "https://10.5.0.2:6443"},
		{"no scheme no port", "demo", "10.5.0.2", "https://10.5.0.2:6443"},
		{"http", "demo", "http://10.5.0.2:6443", "not an https URL"},
		{"bad name", "Demo_1", "https://10.5.0.2:6443", "not a DNS label"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInput(t)
			in.ClusterName, in.Endpoint = tc.cluster, tc.endpoint
			_, err := in.Config("worker")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := newInput(t).Config("master"); err == nil {
		t.Error("unknown machine type accepted")
	}
}
