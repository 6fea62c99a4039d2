package k8s

import (
	"io/fs"

	"github.com/plinth-os/plinth/internal/controllers/internal/nodefs"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// SecretsDir holds the Kubernetes key material of the node.
const SecretsDir = constants.SystemSecretsDir + "/kubernetes"

// Paths of the files PKIController writes (node paths, joined to the root
// when written). Every node has CACertPath; the others exist on control
// planes only. The kubeconfigs embed their certificates and point at the
// local kube-apiserver (LocalAPIServer).
const (
	CACertPath                      = SecretsDir + "/ca.crt"
	CAKeyPath                       = SecretsDir + "/ca.key"
	APIServerCertPath               = SecretsDir + "/apiserver.crt"
	APIServerKeyPath                = SecretsDir + "/apiserver.key"
	KubeletClientCertPath           = SecretsDir + "/apiserver-kubelet-client.crt"
	KubeletClientKeyPath            = SecretsDir + "/apiserver-kubelet-client.key"
	FrontProxyCACertPath            = SecretsDir + "/front-proxy-ca.crt"
	FrontProxyClientCertPath        = SecretsDir + "/front-proxy-client.crt"
	FrontProxyClientKeyPath         = SecretsDir + "/front-proxy-client.key"
	ServiceAccountKeyPath           = SecretsDir + "/sa.key"
	ServiceAccountPubPath           = SecretsDir + "/sa.pub"
	EncryptionConfigPath            = SecretsDir + "/encryption-config.yaml"
	AdminCertPath                   = SecretsDir + "/admin.crt"
	AdminKeyPath                    = SecretsDir + "/admin.key"
	AdminKubeconfigPath             = SecretsDir + "/admin.kubeconfig"
	ControllerManagerKubeconfigPath = SecretsDir + "/controller-manager.kubeconfig"
	SchedulerKubeconfigPath         = SecretsDir + "/scheduler.kubeconfig"
)

// LocalAPIServer is the URL of the node's own kube-apiserver, which the
// control plane's kubeconfigs use.
const LocalAPIServer = "https://127.0.0.1:6443"

// controlPlanePaths are the files only control planes have, in the order
// they are removed.
var controlPlanePaths = []string{
	APIServerCertPath, APIServerKeyPath, KubeletClientCertPath, KubeletClientKeyPath,
	FrontProxyCACertPath, FrontProxyClientCertPath, FrontProxyClientKeyPath,
	ServiceAccountKeyPath, ServiceAccountPubPath, EncryptionConfigPath,
	AdminCertPath, AdminKeyPath, AdminKubeconfigPath, ControllerManagerKubeconfigPath, SchedulerKubeconfigPath,
	CAKeyPath,
}

const (
	publicMode  fs.FileMode = 0o644
	privateMode fs.FileMode = 0o600
	dirMode     fs.FileMode = 0o700
)

// secretFile is one file to write: where (a node path), what and with
// which mode.
type secretFile = nodefs.File

// writeSecretFiles writes the files under root (see nodefs.Write).
func writeSecretFiles(root string, files []secretFile) error {
	return nodefs.Write(root, dirMode, files...)
}

// removeSecretFiles removes the files under root; missing ones are fine.
func removeSecretFiles(root string, paths ...string) error { return nodefs.Remove(root, paths...) }

// hashFiles identifies the content of files: it changes when any path,
// content or mode does.
func hashFiles(files []secretFile) string { return nodefs.Hash(files...) }
