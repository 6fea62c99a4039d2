package secrets_test

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/internal/controllers/secrets"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

func fastController(root string) *secrets.APICertsController {
	return &secrets.APICertsController{
		Root:            root,
		RetryInitial:    10 * time.Millisecond,
		RetryMax:        50 * time.Millisecond,
		RecheckInterval: 20 * time.Millisecond,
	}
}

func TestControlPlaneCertificates(t *testing.T) {
	root := t.TempDir()
	clock := ctest.NewClock(time.Now())
	ca := ctest.NewOSCA(t, clock.Now)

	c := fastController(root)
	c.Now = clock.Now
	h := ctest.New(t, c)
	h.Start(t)

	m := ctest.MachineConfig(v1alpha1.TypeControlPlane, ca)
	m.Machine.CertSANs = []string{"10.5.0.100", "API.example.com"}
	ctest.SetConfig(t, h.State, m)
	setNetwork(t, h.State, "node1", "10.5.0.2/24", "fd00::2/64")

	ctest.Eventually(t, "certificate files", func() bool { return len(readFile(t, root, secrets.APICertPath)) > 0 })

	cert := servedCert(t, root)
	verify(t, cert, ca.Crt)

	if got, want := ipStrings(cert), []string{"10.5.0.100", "10.5.0.2", "127.0.0.1", "::1", "fd00::2"}; !slices.Equal(got, want) {
		t.Errorf("IP SANs %v, want %v", got, want)
	}

	if got, want := cert.DNSNames, []string{"api.example.com", "localhost", "node1"}; !slices.Equal(got, want) {
		t.Errorf("DNS SANs %v, want %v", got, want)
	}

	if got := cert.Subject.Organization; !slices.Equal(got, []string{constants.RoleImpersonator}) || cert.Subject.CommonName != "node1" {
		t.Errorf("subject %v, want CN node1 and only %s", cert.Subject, constants.RoleImpersonator)
	}

	checkControlPlaneFiles(t, root, ca)

	// An unrelated change re-runs without re-issuing; an address change
	// re-issues for the same key.
	oldKey := readFile(t, root, secrets.APIKeyPath)
	m = ctest.MachineConfig(v1alpha1.TypeControlPlane, ca)
	m.Machine.CertSANs = []string{"10.5.0.100", "API.example.com"}
	m.Machine.Env = map[string]string{"A": "b"}
	ctest.SetConfig(t, h.State, m)
	setNetwork(t, h.State, "node1", "10.5.0.3/24")

	ctest.Eventually(t, "re-issued with the new address", func() bool {
		return slices.Contains(ipStrings(servedCert(t, root)), "10.5.0.3")
	})

	if ips := ipStrings(servedCert(t, root)); slices.Contains(ips, "10.5.0.2") {
		t.Errorf("old address still in %v", ips)
	}

	if v := apiCerts(t, h).Metadata().Version; v != 2 {
		t.Errorf("version %d after one SAN change, want 2", v)
	}

	if !bytes.Equal(readFile(t, root, secrets.APIKeyPath), oldKey) {
		t.Error("re-issue changed the key")
	}

	// Near expiry: renewed.
	notAfter := servedCert(t, root).NotAfter
	clock.Advance(constants.APICertValidity - constants.APICertRenewBefore + time.Hour)
	ctest.Eventually(t, "renewed", func() bool { return servedCert(t, root).NotAfter.After(notAfter) })

	// Reset: resource and files removed.
	ctest.DestroyConfig(t, h.State)
	ctest.Eventually(t, "outputs removed", func() bool { return apiCerts(t, h) == nil })

	for _, p := range []string{secrets.APICAPath, secrets.APICertPath, secrets.APIKeyPath,
		secrets.OSCACertPath, secrets.OSCAKeyPath, secrets.TrustdTokenPath} {
		ctest.Eventually(t, p+" removed", func() bool {
			_, err := os.Stat(filepath.Join(root, p))

			return os.IsNotExist(err)
		})
	}
}

func checkControlPlaneFiles(t *testing.T, root string, ca *pki.CertAndKey) {
	t.Helper()

	for path, want := range map[string][]byte{
		secrets.APICAPath:       ca.Crt,
		secrets.OSCACertPath:    ca.Crt,
		secrets.OSCAKeyPath:     ca.Key,
		secrets.TrustdTokenPath: []byte(ctest.Token),
	} {
		if got := readFile(t, root, path); !bytes.Equal(got, want) {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}

	for _, p := range []string{secrets.APIKeyPath, secrets.OSCAKeyPath, secrets.TrustdTokenPath} {
		if got := perm(t, root, p); got != 0o600 {
			t.Errorf("%s mode %#o, want 0600", p, got)
		}
	}
}

func TestWorkerCertificatesFromTrustd(t *testing.T) {
	root := t.TempDir()
	ca := ctest.NewOSCA(t, nil)
	trustd := startTrustd(t, ca)

	var (
		mu        sync.Mutex
		endpoints []string
	)

	c := fastController(root)
	c.DialTrustd = trustd.dialer(&endpoints, &mu)
	h := ctest.New(t, c)
	h.Start(t)

	ctest.SetConfig(t, h.State, ctest.MachineConfig(v1alpha1.TypeWorker, ca))
	setNetwork(t, h.State, "worker1", "10.5.0.7/24")

	ctest.Eventually(t, "certificate files", func() bool { return len(readFile(t, root, secrets.APICertPath)) > 0 })

	_, tokens, csrs, issued := trustd.snapshot()
	if len(issued) != 1 || !slices.Equal(tokens, []string{ctest.Token}) {
		t.Fatalf("trustd issued %d certificates for tokens %q", len(issued), tokens)
	}

	mu.Lock()
	if endpoints[0] != "127.0.0.1:50001" {
		t.Errorf("dialed %q, want the endpoint host on the trustd port", endpoints[0])
	}
	mu.Unlock()

	if got := readFile(t, root, secrets.APICertPath); !bytes.Equal(got, issued[0]) {
		t.Error("server.crt is not what trustd returned")
	}

	if got := readFile(t, root, secrets.APICAPath); !bytes.Equal(got, ca.Crt) {
		t.Error("ca.crt is not machine.ca.crt")
	}

	csr, err := pki.ParseCSRPEM(csrs[0])
	if err != nil {
		t.Fatal(err)
	}

	if _, ok := csr.PublicKey.(ed25519.PublicKey); !ok {
		t.Errorf("CSR key is %T, want Ed25519", csr.PublicKey)
	}

	if !slices.Equal(csr.DNSNames, []string{"localhost", "worker1"}) || !slices.Equal(csr.Subject.Organization, []string{constants.RoleImpersonator}) {
		t.Errorf("CSR names %v, organization %v", csr.DNSNames, csr.Subject.Organization)
	}

	verify(t, servedCert(t, root), ca.Crt)

	if _, err := os.Stat(filepath.Join(root, secrets.OSCAKeyPath)); !os.IsNotExist(err) {
		t.Errorf("a worker wrote the OS CA key: %v", err)
	}
}

func TestWorkerRetriesUntilTrustdIsUp(t *testing.T) {
	root := t.TempDir()
	ca := ctest.NewOSCA(t, nil)
	trustd := startTrustd(t, ca)
	trustd.setDown(true)

	var (
		mu        sync.Mutex
		endpoints []string
	)

	c := fastController(root)
	c.DialTrustd = trustd.dialer(&endpoints, &mu)
	h := ctest.New(t, c)
	h.Start(t)

	ctest.SetConfig(t, h.State, ctest.MachineConfig(v1alpha1.TypeWorker, ca))
	setNetwork(t, h.State, "worker1", "10.5.0.7/24")

	ctest.Eventually(t, "several failed attempts", func() bool {
		attempts, _, _, _ := trustd.snapshot()

		return attempts >= 3 && strings.Contains(h.Logs.String(), "trustd is starting")
	})

	if apiCerts(t, h) != nil || len(readFile(t, root, secrets.APICertPath)) > 0 {
		t.Fatal("a certificate appeared while trustd was down")
	}

	trustd.setDown(false)
	ctest.Eventually(t, "certificate once trustd is up", func() bool { return len(readFile(t, root, secrets.APICertPath)) > 0 })
	verify(t, servedCert(t, root), ca.Crt)
}

func TestControlPlaneWithoutCAKey(t *testing.T) {
	root := t.TempDir()
	ca := ctest.NewOSCA(t, nil)
	h := ctest.New(t, fastController(root))
	h.Start(t)

	m := ctest.MachineConfig(v1alpha1.TypeControlPlane, ca)
	m.Machine.CA.Key = nil
	ctest.SetConfig(t, h.State, m)
	setNetwork(t, h.State, "node1")

	ctest.Eventually(t, "failure logged", func() bool {
		return strings.Contains(h.Logs.String(), "machine.ca.key is missing")
	})
}
