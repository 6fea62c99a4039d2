package k8s

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// Identities of the control plane's client certificates.
const (
	// KubeletClientUser is kube-apiserver's user name towards kubelets; the
	// manifests bind it to the ClusterRole system:kubelet-api-admin.
	KubeletClientUser = "plinth:apiserver-kubelet-client"
	// FrontProxyClientUser is the front proxy's name, the only one
	// kube-apiserver accepts request headers from.
	FrontProxyClientUser = "front-proxy-client"
	// AdminUser is machined's own identity, in group system:masters.
	AdminUser = "plinth:admin"
	// MastersGroup is Kubernetes' superuser group.
	MastersGroup = "system:masters"
	// ControllerManagerUser and SchedulerUser are the components' user
	// names, bound by Kubernetes' default RBAC.
	ControllerManagerUser = "system:kube-controller-manager"
	SchedulerUser         = "system:kube-scheduler"
)

// pkiPlan is what the Kubernetes key material should be, from the inputs.
type pkiPlan struct {
	cluster cluster
	// ca and aggregator issue the certificates; caPEM and aggregatorPEM
	// are their certificates as written.
	ca, aggregator       *pki.CA
	caPEM, aggregatorPEM string
	caKeyPEM             []byte
	// saKey is the PEM service-account signing key; saPub its public key.
	saKey, saPub []byte
	// secretbox is the base64 key that encrypts Secrets at rest.
	secretbox string
	// ips and dnsNames are the sorted, unique SANs of the API server.
	ips, dnsNames []string
}

// newPKIPlan computes a control plane's plan. It fails when a secret the
// control plane needs is missing from the config.
func newPKIPlan(cfg *v1alpha1.MachineConfig, host network.HostnameSpec, addresses []string) (pkiPlan, error) {
	cl, err := newCluster(cfg.Cluster)
	if err != nil {
		return pkiPlan{}, err
	}

	c := cfg.Cluster
	p := pkiPlan{cluster: cl, secretbox: c.SecretboxEncryptionSecret}

	if c.CA == nil || len(c.CA.Key) == 0 {
		return pkiPlan{}, errors.New("cluster.ca.key is missing on a control plane")
	}

	if p.ca, err = pki.ParseCA(c.CA); err != nil {
		return pkiPlan{}, fmt.Errorf("cluster.ca: %w", err)
	}

	p.caPEM, p.caKeyPEM = string(c.CA.Crt), c.CA.Key

	if c.AggregatorCA == nil || len(c.AggregatorCA.Key) == 0 {
		return pkiPlan{}, errors.New("cluster.aggregatorCA is missing on a control plane")
	}

	if p.aggregator, err = pki.ParseCA(c.AggregatorCA); err != nil {
		return pkiPlan{}, fmt.Errorf("cluster.aggregatorCA: %w", err)
	}

	p.aggregatorPEM = string(c.AggregatorCA.Crt)

	if c.ServiceAccount == nil || len(c.ServiceAccount.Key) == 0 {
		return pkiPlan{}, errors.New("cluster.serviceAccount.key is missing on a control plane")
	}

	p.saKey = c.ServiceAccount.Key

	if p.saPub, err = publicKeyPEM(p.saKey); err != nil {
		return pkiPlan{}, fmt.Errorf("cluster.serviceAccount.key: %w", err)
	}

	var extra []string
	if c.APIServer != nil {
		extra = c.APIServer.CertSANs
	}

	p.ips, p.dnsNames = apiServerSANs(cl, host, addresses, extra)

	return p, nil
}

// apiServerSANs are the names of kube-apiserver's certificate: the
// in-cluster names of the kubernetes Service and its addresses, the node's
// names and addresses, the loopbacks, the endpoint's host and
// cluster.apiServer.certSANs.
func apiServerSANs(cl cluster, host network.HostnameSpec, addresses, extra []string) (ips, dnsNames []string) {
	addrs := []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
	addrs = append(addrs, cl.apiServiceIPs()...)

	addrs = append(addrs, cl.nodeAddrs(addresses)...)

	names := []string{
		"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc." + cl.dnsDomain, host.Hostname, host.FQDN,
	}

	for _, san := range append([]string{cl.endpoint.Hostname()}, extra...) {
		if ip, err := netip.ParseAddr(san); err == nil {
			addrs = append(addrs, ip.Unmap())
		} else if san != "" {
			names = append(names, strings.ToLower(strings.TrimSuffix(san, ".")))
		}
	}

	slices.SortFunc(addrs, netip.Addr.Compare)

	for _, a := range slices.Compact(addrs) {
		ips = append(ips, a.String())
	}

	names = slices.DeleteFunc(names, func(s string) bool { return s == "" })
	slices.Sort(names)

	return ips, slices.Compact(names)
}

// publicKeyPEM returns the PEM "PUBLIC KEY" of a PEM private key.
func publicKeyPEM(keyPEM []byte) ([]byte, error) {
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, err
	}

	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}

	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// encryptionConfig is kube-apiserver's EncryptionConfiguration: Secrets
// are written with secretbox under the cluster's key and read with it or,
// for Secrets written before encryption was on, as plain text.
func encryptionConfig(secretbox string) ([]byte, error) {
	if secretbox == "" {
		return nil, errors.New("cluster.secretboxEncryptionSecret is missing on a control plane")
	}

	if raw, err := base64.StdEncoding.DecodeString(secretbox); err != nil || len(raw) != 32 {
		return nil, errors.New("cluster.secretboxEncryptionSecret: expected 32 bytes in base64")
	}

	return []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources:
      - secrets
    providers:
      - secretbox:
          keys:
            - name: key1
              secret: ` + secretbox + `
      - identity: {}
`), nil
}
