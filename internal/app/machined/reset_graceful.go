package machined

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/internal/controllers/k8s"
)

// drainTimeout bounds the drain of a graceful reset.
const drainTimeout = 2 * time.Minute

// checkGracefulReset refuses a graceful reset that would remove etcd's
// only member (the cluster's data would go with it).
func (m *machined) checkGracefulReset(ctx context.Context) error {
	return m.withEtcdMembers(ctx, "graceful reset: etcd", "use --graceful=false to reset without leaving etcd",
		func(_ context.Context, _ server.EtcdClient, list *clientv3.MemberListResponse) error {
			if len(list.Members) <= 1 {
				return status.Error(codes.FailedPrecondition, "graceful reset: this node holds etcd's only member, leaving would destroy the cluster's data (use --graceful=false to reset anyway)")
			}
			return nil
		})
}

// drainNode cordons and drains this node when its kubelet has joined.
func (m *machined) drainNode(ctx context.Context) error {
	if _, err := os.Stat(m.path(k8s.KubeletKubeconfigPath)); err != nil {
		return nil // no kubelet credentials: Kubernetes does not run here
	}
	name, err := m.Hostname(ctx)
	if err != nil {
		return err
	}
	// The drain acts with the kubelet's credentials, which name the node
	// it registered as; after a hostname change that is the old name.
	if registered := kubeletNodeName(m.path(k8s.KubeletCurrentCertPath)); registered != "" {
		name = registered
	}
	ctx, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	if err := k8s.Drain(ctx, m.opts.Root, name, m.opts.Logger); err != nil {
		m.logger.Warn("graceful reset: drain incomplete, resetting anyway", "error", err)
	}
	return nil
}

// leaveEtcd removes this node's member from etcd.
func (m *machined) leaveEtcd(ctx context.Context) error {
	if !m.etcdRunning() {
		return nil
	}
	if _, err := m.machineAPI.EtcdLeaveCluster(ctx, &machine.EtcdLeaveClusterRequest{}); err != nil {
		m.logger.Error("graceful reset: leaving etcd failed, resetting anyway", "error", err)
	}
	return nil
}

// kubeletNodeName is the node name in the kubelet's client certificate
// (CN system:node:NAME), or "" when there is none.
func kubeletNodeName(certPath string) string {
	data, err := os.ReadFile(certPath)
	if err != nil {
		return ""
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return ""
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return ""
		}
		name, ok := strings.CutPrefix(cert.Subject.CommonName, "system:node:")
		if !ok {
			return ""
		}
		return name
	}
}
