package etcd

import (
	"crypto/x509"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/ctest"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
)

func TestEtcdPKI(t *testing.T) {
	root := t.TempDir()
	clock := ctest.NewClock(time.Now())
	h := ctest.New(t, &PKIController{Root: root, Now: clock.Now, RecheckInterval: 10 * time.Millisecond})
	h.Start(t)

	m := testConfig(t, v1alpha1.TypeControlPlane)
	ctest.SetConfig(t, h.State, m)
	setNetwork(t, h.State, "cp1", "10.5.0.2/24", "10.244.0.1/24") // cni0's address is no member address

	res := func() *etcd.Certificates {
		return ctest.Get[etcd.CertificatesSpec](t, h.State, etcd.NamespaceName, etcd.CertificatesType, etcd.CertificatesID)
	}

	ctest.Eventually(t, "certificates", func() bool { return res() != nil })

	ca, err := pki.ParseCA(m.Cluster.Etcd.CA)
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		crt, key string
		usages   []x509.ExtKeyUsage
		cn       string
	}{
		{ServerCertPath, ServerKeyPath, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, "cp1"},
		{PeerCertPath, PeerKeyPath, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, "cp1"},
		{APIServerClientCertPath, APIServerClientKeyPath, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, APIServerClientName},
		{ClientCertPath, ClientKeyPath, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, ClientName},
	} {
		crt := checkCert(t, root, c.crt, c.key, ca, c.usages)
		if crt.Subject.CommonName != c.cn {
			t.Errorf("%s CN %q, want %q", c.crt, crt.Subject.CommonName, c.cn)
		}

		if c.cn == "cp1" {
			var ips []string
			for _, ip := range crt.IPAddresses {
				a, _ := netip.AddrFromSlice(ip)
				ips = append(ips, a.Unmap().String())
			}

			if !slices.Equal(ips, []string{"10.5.0.2", "127.0.0.1", "::1"}) || !slices.Equal(crt.DNSNames, []string{"cp1", "localhost"}) {
				t.Errorf("%s SANs %v %v", c.crt, ips, crt.DNSNames)
			}
		}
	}

	// Renewal near expiry.
	before := res().TypedSpec().Client.NotAfter
	clock.Advance(CertValidity - CertRenewBefore + time.Hour)
	ctest.Eventually(t, "renewed", func() bool { return res().TypedSpec().Client.NotAfter.After(before) })

	// Reset: files removed.
	ctest.DestroyConfig(t, h.State)
	ctest.Eventually(t, "files removed", func() bool {
		_, err := os.Stat(filepath.Join(root, ServerCertPath))

		return os.IsNotExist(err) && res() == nil
	})
}

func checkCert(t *testing.T, root, crtPath, keyPath string, ca *pki.CA, usages []x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()

	crtPEM, err := os.ReadFile(filepath.Join(root, crtPath))
	if err != nil {
		t.Fatal(err)
	}

	keyPEM, err := os.ReadFile(filepath.Join(root, keyPath))
	if err != nil {
		t.Fatal(err)
	}

	if err := pki.KeyMatchesCert(crtPEM, keyPEM); err != nil {
		t.Fatalf("%s: %v", crtPath, err)
	}

	if fi, err := os.Stat(filepath.Join(root, keyPath)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %v (%v)", keyPath, fi.Mode(), err)
	}

	crt, err := pki.ParseCertPEM(crtPEM)
	if err != nil {
		t.Fatal(err)
	}

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)

	for _, u := range usages {
		if _, err := crt.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{u}}); err != nil {
			t.Errorf("%s does not verify for %v: %v", crtPath, u, err)
		}
	}

	return crt
}
