// Package generate builds machine configs and the client config of a new
// cluster from its secrets bundle: what `plinthctl gen config` writes.
package generate

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
	"github.com/plinth-os/plinth/pkg/machinery/role"
	"github.com/plinth-os/plinth/pkg/machinery/secrets"
	"github.com/plinth-os/plinth/pkg/machinery/version"
)

// Defaults of a generated cluster.
const (
	DefaultDNSDomain     = "cluster.local"
	DefaultPodSubnet     = "10.244.0.0/16"
	DefaultServiceSubnet = "10.96.0.0/12"
	// DefaultClientCertTTL is how long the admin client certificate of a
	// generated plinthconfig is valid.
	DefaultClientCertTTL = 365 * 24 * time.Hour
)

// Input describes the cluster to generate configs for.
type Input struct {
	// ClusterName names the cluster (a DNS label) and the client context.
	ClusterName string
	// Endpoint is the https URL of the Kubernetes API.
	Endpoint string
	// KubernetesVersion defaults to the version this build ships.
	KubernetesVersion string
	// InstallDisk and InstallImage fill machine.install; empty leaves it out.
	InstallDisk, InstallImage string
	// Secrets are the cluster's secrets.
	Secrets *secrets.Bundle
	// Now is the clock for the client certificate (nil: time.Now).
	Now func() time.Time
}

// Check validates the input before anything is generated.
func (in *Input) Check() error {
	var errs []error
	if in.ClusterName == "" {
		errs = append(errs, errors.New("cluster name is empty"))
	} else if !isDNSLabel(in.ClusterName) {
		errs = append(errs, fmt.Errorf("cluster name %q is not a DNS label: use lowercase letters, digits and '-'", in.ClusterName))
	}
	if _, err := EndpointHost(in.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if in.Secrets == nil {
		errs = append(errs, errors.New("no secrets bundle"))
	}
	return errors.Join(errs...)
}

// EndpointHost returns the host of a Kubernetes API endpoint URL, with a
// clear error for a missing scheme or host.
func EndpointHost(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		hint := endpoint
		if !strings.Contains(endpoint, "://") {
			hint = "https://" + endpoint
			if _, _, err := net.SplitHostPort(endpoint); err != nil {
				hint += ":6443"
			}
		}
		return "", fmt.Errorf("endpoint %q is not an https URL: expected the Kubernetes API URL, e.g. %s", endpoint, hint)
	}
	return u.Hostname(), nil
}

func isDNSLabel(s string) bool {
	if len(s) > 63 || s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// MachineConfig builds the MachineConfig of a control plane or a worker.
// Workers get CA certificates without keys and none of the control plane's secrets.
func (in *Input) MachineConfig(machineType string) (*v1alpha1.MachineConfig, error) {
	if err := in.Check(); err != nil {
		return nil, err
	}
	cp := machineType == v1alpha1.TypeControlPlane
	if !cp && machineType != v1alpha1.TypeWorker {
		return nil, fmt.Errorf("unknown machine type %q: expected controlplane or worker", machineType)
	}
	s := in.Secrets
	kv := in.KubernetesVersion
	if kv == "" {
		kv = version.Kubernetes
	}
	m := &v1alpha1.MachineConfig{
		TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: v1alpha1.KindMachineConfig},
		Machine: &v1alpha1.Machine{
			Type:  machineType,
			Token: s.Machine.TrustdToken,
			CA:    keyIf(cp, s.Certs.OS),
		},
		Cluster: &v1alpha1.Cluster{
			ID:                s.Cluster.ID,
			Secret:            s.Cluster.Secret,
			ClusterName:       in.ClusterName,
			KubernetesVersion: kv,
			ControlPlane:      &v1alpha1.ControlPlane{Endpoint: in.Endpoint},
			Network: &v1alpha1.ClusterNetwork{
				DNSDomain:      DefaultDNSDomain,
				PodSubnets:     []string{DefaultPodSubnet},
				ServiceSubnets: []string{DefaultServiceSubnet},
				CNI:            &v1alpha1.CNI{Name: "flannel"},
			},
			Token: s.Secrets.BootstrapToken,
			CA:    keyIf(cp, s.Certs.K8s),
		},
	}
	if in.InstallDisk != "" || in.InstallImage != "" {
		m.Machine.Install = &v1alpha1.Install{Disk: in.InstallDisk, Image: in.InstallImage}
	}
	if cp {
		m.Cluster.SecretboxEncryptionSecret = s.Secrets.SecretboxEncryptionSecret
		m.Cluster.AggregatorCA = keyIf(true, s.Certs.K8sAggregator)
		m.Cluster.ServiceAccount = &v1alpha1.ServiceAccount{Key: append([]byte(nil), s.Certs.K8sServiceAccount.Key...)}
		m.Cluster.Etcd = &v1alpha1.Etcd{CA: keyIf(true, s.Certs.Etcd)}
	}
	return m, nil
}

// keyIf copies a CA, keeping its private key only when withKey is true.
func keyIf(withKey bool, ck pki.CertAndKey) *pki.CertAndKey {
	out := &pki.CertAndKey{Crt: append([]byte(nil), ck.Crt...)}
	if withKey {
		out.Key = append([]byte(nil), ck.Key...)
	}
	return out
}

// Config builds the whole machine config of a machine type.
func (in *Input) Config(machineType string) (*config.Config, error) {
	m, err := in.MachineConfig(machineType)
	if err != nil {
		return nil, err
	}
	return config.New(m), nil
}

// ClientConfig builds the plinthconfig of the cluster: one context named
// after the cluster, with the endpoint's host as endpoint, the OS CA and an
// admin client certificate valid for ttl.
func (in *Input) ClientConfig(ttl time.Duration) (*clientconfig.Config, error) {
	if err := in.Check(); err != nil {
		return nil, err
	}
	host, _ := EndpointHost(in.Endpoint)
	var opts []secrets.Option
	if in.Now != nil {
		opts = append(opts, secrets.WithClock(in.Now))
	}
	client, err := in.Secrets.AdminClientCert([]string{string(role.Admin)}, ttl, opts...)
	if err != nil {
		return nil, err
	}
	cfg := clientconfig.New()
	cfg.Context = in.ClusterName
	cfg.Contexts[in.ClusterName] = &clientconfig.Context{
		Endpoints: []string{host},
		CA:        clientconfig.EncodePEM(in.Secrets.Certs.OS.Crt),
		Crt:       clientconfig.EncodePEM(client.Crt),
		Key:       clientconfig.EncodePEM(client.Key),
	}
	return cfg, nil
}
