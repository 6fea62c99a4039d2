package k8s

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

func TestAPIServerSANs(t *testing.T) {
	m := &v1alpha1.Cluster{
		ControlPlane: &v1alpha1.ControlPlane{Endpoint: "https://API.example.com:443"},
		Network: &v1alpha1.ClusterNetwork{
			DNSDomain: "corp.internal", ServiceSubnets: []string{"10.96.0.0/12", "fd00:10:96::/112"},
		},
	}

	cl, err := newCluster(m)
	if err != nil {
		t.Fatal(err)
	}

	ips, names := apiServerSANs(cl, resnet.HostnameSpec{Hostname: "cp1", FQDN: "cp1.corp"},
		[]string{"10.5.0.2/24", "fd00::2/64", "garbage", "10.244.0.1/24", "10.244.0.0/32"}, []string{"192.168.1.1", "Extra.Example.com.", ""})

	wantIPs := []string{"10.5.0.2", "10.96.0.1", "127.0.0.1", "192.168.1.1", "::1", "fd00::2", "fd00:10:96::1"}
	if !slices.Equal(ips, wantIPs) {
		t.Errorf("IPs %v, want %v", ips, wantIPs)
	}

	wantNames := []string{
		"api.example.com", "cp1", "cp1.corp", "extra.example.com", "kubernetes", "kubernetes.default",
		"kubernetes.default.svc", "kubernetes.default.svc.corp.internal", "localhost",
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("DNS names %v, want %v", names, wantNames)
	}
}

func TestPKIControlPlane(t *testing.T) {
	root := t.TempDir()
	clock := ctest.NewClock(time.Now())

	h := ctest.New(t, &PKIController{Root: root, Now: clock.Now, RecheckInterval: 20 * time.Millisecond})
	h.Start(t)

	m := cpConfig(t, v1alpha1.TypeControlPlane)
	m.Cluster.APIServer = &v1alpha1.APIServer{CertSANs: []string{"k8s.example.com"}}
	ctest.SetConfig(t, h.State, m)
	cpSetNetwork(t, h.State, "cp1", "10.5.0.2/24")

	ctest.Eventually(t, "apiserver certificate", func() bool { return len(cpReadFile(t, root, APIServerCertPath)) > 0 })

	ca, err := pki.ParseCA(m.Cluster.CA)
	if err != nil {
		t.Fatal(err)
	}

	agg, err := pki.ParseCA(m.Cluster.AggregatorCA)
	if err != nil {
		t.Fatal(err)
	}

	api := cpCert(t, root, APIServerCertPath, APIServerKeyPath, ca, x509.ExtKeyUsageServerAuth)
	if got := cpIPs(api); !slices.Equal(got, []string{"10.5.0.100", "10.5.0.2", "10.96.0.1", "127.0.0.1", "::1"}) {
		t.Errorf("apiserver IPs %v", got)
	}

	if !slices.Contains(api.DNSNames, "kubernetes.default.svc.cluster.local") || !slices.Contains(api.DNSNames, "k8s.example.com") {
		t.Errorf("apiserver DNS names %v", api.DNSNames)
	}

	for _, c := range []struct {
		crt, key string
		ca       *pki.CA
		cn, org  string
	}{
		{KubeletClientCertPath, KubeletClientKeyPath, ca, KubeletClientUser, ""},
		{FrontProxyClientCertPath, FrontProxyClientKeyPath, agg, FrontProxyClientUser, ""},
		{AdminCertPath, AdminKeyPath, ca, AdminUser, MastersGroup},
	} {
		crt := cpCert(t, root, c.crt, c.key, c.ca, x509.ExtKeyUsageClientAuth)
		if crt.Subject.CommonName != c.cn || strings.Join(crt.Subject.Organization, ",") != c.org {
			t.Errorf("%s subject %v, want CN %s O %q", c.crt, crt.Subject, c.cn, c.org)
		}
	}

	cpCheckKubeconfig(t, root, ControllerManagerKubeconfigPath, ControllerManagerUser, ca)
	cpCheckKubeconfig(t, root, SchedulerKubeconfigPath, SchedulerUser, ca)
	cpCheckKubeconfig(t, root, AdminKubeconfigPath, AdminUser, ca)
	cpCheckStatic(t, root, m)

	// An address change re-issues the serving certificate only.
	scheduler := cpReadFile(t, root, SchedulerKubeconfigPath)
	cpSetNetwork(t, h.State, "cp1", "10.5.0.3/24")
	ctest.Eventually(t, "re-issued for the new address", func() bool {
		return slices.Contains(cpResource(t, h).TypedSpec().IPs, "10.5.0.3")
	})

	if ips := cpIPs(cpCert(t, root, APIServerCertPath, APIServerKeyPath, ca, x509.ExtKeyUsageServerAuth)); !slices.Contains(ips, "10.5.0.3") || slices.Contains(ips, "10.5.0.2") {
		t.Errorf("apiserver IPs after the change: %v", ips)
	}

	if !bytes.Equal(cpReadFile(t, root, SchedulerKubeconfigPath), scheduler) {
		t.Error("an address change re-issued the scheduler's certificate")
	}

	// Near expiry: everything renewed.
	before := cpResource(t, h).TypedSpec().Scheduler.NotAfter
	clock.Advance(CertValidity - CertRenewBefore + time.Hour)
	ctest.Eventually(t, "renewed", func() bool { return cpResource(t, h).TypedSpec().Scheduler.NotAfter.After(before) })

	// Reset: resource and files removed.
	ctest.DestroyConfig(t, h.State)
	ctest.Eventually(t, "outputs removed", func() bool { return cpResource(t, h) == nil })

	for _, p := range append([]string{CACertPath}, controlPlanePaths...) {
		ctest.Eventually(t, p+" removed", func() bool {
			_, err := os.Stat(filepath.Join(root, p))

			return os.IsNotExist(err)
		})
	}
}

func TestPKIWorker(t *testing.T) {
	root := t.TempDir()
	h := ctest.New(t, &PKIController{Root: root})
	h.Start(t)

	m := cpConfig(t, v1alpha1.TypeWorker)
	ctest.SetConfig(t, h.State, m)

	ctest.Eventually(t, "resource", func() bool { return cpResource(t, h) != nil })

	if got := cpReadFile(t, root, CACertPath); !bytes.Equal(got, m.Cluster.CA.Crt) {
		t.Errorf("ca.crt = %q", got)
	}

	entries, err := os.ReadDir(filepath.Join(root, SecretsDir))
	if err != nil || len(entries) != 1 {
		t.Errorf("a worker has %v (%v), want ca.crt only", entries, err)
	}
}

func TestPKIMissingSecret(t *testing.T) {
	h := ctest.New(t, &PKIController{Root: t.TempDir()})
	h.Start(t)

	m := cpConfig(t, v1alpha1.TypeControlPlane)
	m.Cluster.AggregatorCA = nil
	ctest.SetConfig(t, h.State, m)
	cpSetNetwork(t, h.State, "cp1", "10.5.0.2/24")

	ctest.Eventually(t, "problem logged", func() bool {
		return strings.Contains(h.Logs.String(), "cluster.aggregatorCA is missing")
	})
}

func cpResource(t *testing.T, h *ctest.Harness) *k8s.Certificates {
	t.Helper()

	return ctest.Get[k8s.CertificatesSpec](t, h.State, k8s.NamespaceName, k8s.CertificatesType, k8s.CertificatesID)
}

// cpCert parses a certificate file, checks its key file, its chain to ca
// for usage and the key's mode.
func cpCert(t *testing.T, root, crtPath, keyPath string, ca *pki.CA, usage x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()

	crtPEM, keyPEM := cpReadFile(t, root, crtPath), cpReadFile(t, root, keyPath)
	if err := pki.KeyMatchesCert(crtPEM, keyPEM); err != nil {
		t.Fatalf("%s: %v", crtPath, err)
	}

	if got := cpPerm(t, root, keyPath); got != 0o600 {
		t.Errorf("%s mode %#o, want 0600", keyPath, got)
	}

	crt, err := pki.ParseCertPEM(crtPEM)
	if err != nil {
		t.Fatal(err)
	}

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)

	if _, err := crt.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		t.Fatalf("%s does not verify for %v: %v", crtPath, usage, err)
	}

	return crt
}

func cpIPs(crt *x509.Certificate) []string {
	out := make([]string, 0, len(crt.IPAddresses))
	for _, ip := range crt.IPAddresses {
		a, _ := netip.AddrFromSlice(ip)
		out = append(out, a.Unmap().String())
	}

	slices.Sort(out)

	return out
}

// cpCheckKubeconfig checks that a kubeconfig names the local API server,
// trusts the CA and holds a client certificate for user.
func cpCheckKubeconfig(t *testing.T, root, path, user string, ca *pki.CA) {
	t.Helper()

	var kc kubeconfig
	if err := yaml.Unmarshal(cpReadFile(t, root, path), &kc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}

	if len(kc.Clusters) != 1 || kc.Clusters[0].Cluster.Server != LocalAPIServer || kc.CurrentContext != user+"@demo" {
		t.Fatalf("%s: %+v", path, kc)
	}

	dec := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}

		return b
	}

	crtPEM, keyPEM := dec(kc.Users[0].User.ClientCertificateData), dec(kc.Users[0].User.ClientKeyData)
	if err := pki.KeyMatchesCert(crtPEM, keyPEM); err != nil {
		t.Fatal(err)
	}

	crt, err := pki.ParseCertPEM(crtPEM)
	if err != nil || crt.Subject.CommonName != user || crt.CheckSignatureFrom(ca.Cert) != nil {
		t.Errorf("%s: certificate %v (%v)", path, crt.Subject, err)
	}

	if !bytes.Equal(dec(kc.Clusters[0].Cluster.CertificateAuthorityData), cpReadFile(t, root, CACertPath)) {
		t.Errorf("%s: CA is not ca.crt", path)
	}

	if got := cpPerm(t, root, path); got != 0o600 {
		t.Errorf("%s mode %#o", path, got)
	}
}

// cpCheckStatic checks the files copied or derived from the config.
func cpCheckStatic(t *testing.T, root string, m *v1alpha1.MachineConfig) {
	t.Helper()

	for path, want := range map[string][]byte{
		CACertPath:            m.Cluster.CA.Crt,
		CAKeyPath:             m.Cluster.CA.Key,
		FrontProxyCACertPath:  m.Cluster.AggregatorCA.Crt,
		ServiceAccountKeyPath: m.Cluster.ServiceAccount.Key,
	} {
		if got := cpReadFile(t, root, path); !bytes.Equal(got, want) {
			t.Errorf("%s differs from the config", path)
		}
	}

	pub, err := publicKeyPEM(m.Cluster.ServiceAccount.Key)
	if err != nil || !bytes.Equal(cpReadFile(t, root, ServiceAccountPubPath), pub) {
		t.Errorf("sa.pub is not the public key of sa.key (%v)", err)
	}

	enc := string(cpReadFile(t, root, EncryptionConfigPath))
	if !strings.Contains(enc, "secretbox:") || !strings.Contains(enc, "secret: "+m.Cluster.SecretboxEncryptionSecret) {
		t.Errorf("encryption config:\n%s", enc)
	}

	for _, p := range []string{CAKeyPath, ServiceAccountKeyPath, EncryptionConfigPath} {
		if got := cpPerm(t, root, p); got != 0o600 {
			t.Errorf("%s mode %#o, want 0600", p, got)
		}
	}
}
