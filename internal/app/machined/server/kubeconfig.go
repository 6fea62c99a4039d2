package server

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/pkg/machinery/client/kubeconfig"
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/pki"
)

// Admin kubeconfigs: who they authenticate and for how long.
const (
	kubeconfigUser        = "admin"
	kubeconfigGroup       = "system:masters"
	kubeconfigValidity    = 365 * 24 * time.Hour
	defaultKubeconfigName = "plinth"
	machineTypeControl    = "controlplane"
)

// Kubeconfig issues an admin kubeconfig (a client certificate of group
// system:masters, valid a year, signed by the Kubernetes CA) for the
// cluster's control-plane endpoint and streams it. Only control planes
// hold the CA's key.
func (m *Machine) Kubeconfig(_ *emptypb.Empty, srv grpc.ServerStreamingServer[common.Data]) error {
	data, err := m.issueKubeconfig()
	if err != nil {
		return err
	}
	m.logger.Info("admin kubeconfig issued")
	return streamReaderBytes(data, func(b []byte) error { return srv.Send(&common.Data{Bytes: b}) })
}

// issueKubeconfig builds the kubeconfig from the active machine config.
func (m *Machine) issueKubeconfig() ([]byte, error) {
	raw := m.opts.Node.Config()
	if raw == nil {
		return nil, status.Error(codes.FailedPrecondition, "no machine config: the node is in maintenance mode")
	}
	cfg, err := config.Load(raw)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "load the machine config: %v", err)
	}
	mc := cfg.Machine()
	cl := mc.Cluster
	if cl == nil || cl.ControlPlane == nil || cl.ControlPlane.Endpoint == "" || cl.CA == nil {
		return nil, status.Error(codes.FailedPrecondition, "Kubernetes is not configured on this node: the machine config has no cluster.controlPlane.endpoint or cluster.ca")
	}
	if mc.Machine == nil || mc.Machine.Type != machineTypeControl || len(cl.CA.Key) == 0 {
		return nil, status.Error(codes.FailedPrecondition, "kubeconfig is served by control planes: this node is a worker (its config has no Kubernetes CA key); ask a control plane with -n")
	}
	ca, err := pki.ParseCA(cl.CA)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "Kubernetes CA: %v", err)
	}
	cert, err := ca.Issue(pki.CertOptions{
		Subject:  pki.Subject{CommonName: kubeconfigUser, Organization: []string{kubeconfigGroup}},
		Usage:    pki.UsageClient,
		Validity: kubeconfigValidity,
	})
	if err != nil {
		return nil, status.Errorf(codes.Internal, "issue the admin certificate: %v", err)
	}
	name := cl.ClusterName
	if name == "" {
		name = defaultKubeconfigName
	}
	kc := kubeconfig.NewAdmin(name, cl.ControlPlane.Endpoint, cl.CA.Crt, cert.Crt, cert.Key)
	out, err := kc.Bytes()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return out, nil
}

// streamReaderBytes sends data in chunks.
func streamReaderBytes(data []byte, send func([]byte) error) error {
	_, err := chunkWriter{send: send}.Write(data)
	return err
}
