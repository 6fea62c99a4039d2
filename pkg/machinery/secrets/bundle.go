// Package secrets holds the cluster secrets bundle: the random values and
// CAs that every machine config of one cluster shares. `plinthctl gen
// secrets` writes it once; `gen config` and `config` commands read it, so
// that configs generated at different times still form one cluster.
package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// DefaultCAValidity is how long the CAs of a new bundle are valid.
const DefaultCAValidity = 10 * 365 * 24 * time.Hour

// Bundle is the cluster secrets. Its YAML form is the secrets.yaml file.
type Bundle struct {
	// Cluster identifies the cluster.
	Cluster Cluster `yaml:"cluster" json:"cluster"`
	// Secrets are the Kubernetes secrets.
	Secrets Secrets `yaml:"secrets" json:"secrets"`
	// Machine holds the secrets machines use to join the cluster.
	Machine Machine `yaml:"machine" json:"machine"`
	// Certs are the cluster's CAs and keys.
	Certs Certs `yaml:"certs" json:"certs"`
}

// Cluster identifies a cluster.
type Cluster struct {
	// ID is 32 random bytes in base64, the cluster's unique identity.
	ID string `yaml:"id" json:"id"`
	// Secret is 32 random bytes in base64 shared by the cluster's members.
	Secret string `yaml:"secret" json:"secret"`
}

// Secrets are the Kubernetes secrets of the cluster.
type Secrets struct {
	// BootstrapToken is the Kubernetes bootstrap token kubelets use to get
	// their first client certificate, in the form [a-z0-9]{6}.[a-z0-9]{16}.
	BootstrapToken string `yaml:"bootstrapToken" json:"bootstrapToken"`
	// SecretboxEncryptionSecret is 32 random bytes in base64, the key that
	// encrypts Kubernetes Secrets at rest in etcd.
	SecretboxEncryptionSecret string `yaml:"secretboxEncryptionSecret" json:"secretboxEncryptionSecret"`
}

// Machine holds the secrets machines use to join the cluster.
type Machine struct {
	// TrustdToken is presented by joining nodes to trustd to get their
	// certificates signed; same form as a bootstrap token.
	TrustdToken string `yaml:"trustdToken" json:"trustdToken"`
}

// Certs are the CAs of the cluster, each with its key.
type Certs struct {
	// OS is the Ed25519 CA of the Plinth API (apid, trustd, plinthctl).
	OS pki.CertAndKey `yaml:"os" json:"os"`
	// K8s is the ECDSA P-256 Kubernetes CA.
	K8s pki.CertAndKey `yaml:"k8s" json:"k8s"`
	// K8sAggregator is the ECDSA CA of the API aggregation layer.
	K8sAggregator pki.CertAndKey `yaml:"k8sAggregator" json:"k8sAggregator"`
	// K8sServiceAccount holds only the ECDSA P-256 key that signs
	// service-account tokens.
	K8sServiceAccount pki.CertAndKey `yaml:"k8sServiceAccount" json:"k8sServiceAccount"`
	// Etcd is the ECDSA CA of etcd.
	Etcd pki.CertAndKey `yaml:"etcd" json:"etcd"`
}

// Option configures NewBundle and certificate issuing.
type Option func(*options)

type options struct {
	now        func() time.Time
	caValidity time.Duration
}

// WithClock sets the clock certificates are dated by (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithCAValidity sets how long new CAs are valid (default DefaultCAValidity).
func WithCAValidity(d time.Duration) Option { return func(o *options) { o.caValidity = d } }

func buildOptions(opts []Option) options {
	o := options{now: time.Now, caValidity: DefaultCAValidity}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// NewBundle generates the secrets of a new cluster. Randomness comes from
// crypto/rand (see package pki for deterministic tests).
func NewBundle(opts ...Option) (*Bundle, error) {
	o := buildOptions(opts)
	b := &Bundle{
		Cluster: Cluster{ID: randomBase64(32), Secret: randomBase64(32)},
		Secrets: Secrets{BootstrapToken: NewToken(), SecretboxEncryptionSecret: randomBase64(32)},
		Machine: Machine{TrustdToken: NewToken()},
	}
	cas := []struct {
		name string
		dst  *pki.CertAndKey
		typ  pki.KeyType
	}{
		{"os", &b.Certs.OS, pki.KeyEd25519},
		{"kubernetes", &b.Certs.K8s, pki.KeyECDSAP256},
		{"front-proxy", &b.Certs.K8sAggregator, pki.KeyECDSAP256},
		{"etcd", &b.Certs.Etcd, pki.KeyECDSAP256},
	}
	for _, ca := range cas {
		ck, err := pki.NewCA(pki.CAOptions{
			CommonName:   ca.name,
			Organization: []string{ca.name},
			KeyType:      ca.typ,
			Validity:     o.caValidity,
			Now:          o.now,
		})
		if err != nil {
			return nil, fmt.Errorf("new secrets bundle: %s CA: %w", ca.name, err)
		}
		*ca.dst = *ck
	}
	saKey, err := pki.GenerateKeyPEM(pki.KeyECDSAP256)
	if err != nil {
		return nil, fmt.Errorf("new secrets bundle: service account key: %w", err)
	}
	b.Certs.K8sServiceAccount = pki.CertAndKey{Key: saKey}
	return b, nil
}

// randomBase64 returns n random bytes in standard base64.
func randomBase64(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // never fails since Go 1.24
	return base64.StdEncoding.EncodeToString(b)
}
