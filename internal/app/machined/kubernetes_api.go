package machined

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
)

// Where the API finds the node's Kubernetes pieces.
const (
	// etcdLocalEndpoint is the local etcd member's client URL.
	etcdLocalEndpoint = "https://127.0.0.1:2379"
	// containerdSocket is containerd's API socket (under the root).
	containerdSocket = "/run/containerd/containerd.sock"
	// podLogDir is where kubelet keeps container logs (under the root).
	podLogDir = "/var/log/pods"
)

// kubernetesAPI wires the etcd, image, container and Kubernetes log RPCs
// to the node's etcd (with machined's client certificate from the
// EtcdCertificates resource), containerd and kubelet's logs.
func (m *machined) kubernetesAPI() server.KubernetesOptions {
	return server.KubernetesOptions{
		Etcd:       server.LocalEtcd(etcdLocalEndpoint, m.etcdCredentials),
		Containerd: server.LocalContainerd(filepath.Join(m.opts.Root, containerdSocket)),
		PodLogDir:  filepath.Join(m.opts.Root, podLogDir),
	}
}

// etcdCredentials reads machined's etcd client certificate.
func (m *machined) etcdCredentials(ctx context.Context) (server.EtcdCredentials, error) {
	r, err := m.state.Get(ctx, resource.Ref{Namespace: etcd.NamespaceName, Type: etcd.CertificatesType, ID: etcd.CertificatesID})
	if err != nil {
		return server.EtcdCredentials{}, fmt.Errorf("etcd client certificate: %w", err)
	}
	certs, ok := r.(*etcd.Certificates)
	if !ok {
		return server.EtcdCredentials{}, errors.New("etcd client certificate: unexpected resource type")
	}
	spec := certs.TypedSpec()
	return server.EtcdCredentials{CA: []byte(spec.CA), Cert: []byte(spec.Client.Crt), Key: []byte(spec.Client.Key)}, nil
}
