package k8s

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
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
type secretFile struct {
	path string
	data []byte
	mode fs.FileMode
}

// writeSecretFiles writes each file under root unless it already holds its
// content with its mode, atomically, in order.
func writeSecretFiles(root string, files []secretFile) error {
	for _, f := range files {
		if err := writeIfChanged(filepath.Join(root, f.path), f.data, f.mode); err != nil {
			return err
		}
	}

	return nil
}

func writeIfChanged(path string, data []byte, mode fs.FileMode) error {
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, data) {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == mode {
			return nil
		}
	}

	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("create directory of %s: %w", path, err)
	}

	return fsutil.WriteFileAtomic(path, data, mode)
}

// removeSecretFiles removes the files under root; missing ones are fine.
func removeSecretFiles(root string, paths ...string) error {
	var errs []error

	for _, p := range paths {
		if err := os.Remove(filepath.Join(root, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
		}
	}

	return errors.Join(errs...)
}

// hashFiles identifies the content of files: it changes when any path,
// content or mode does.
func hashFiles(files []secretFile) string {
	h := sha256.New()

	for _, f := range files {
		fmt.Fprintf(h, "%s %o %d\n", f.path, f.mode, len(f.data))
		h.Write(f.data)
	}

	return hex.EncodeToString(h.Sum(nil))[:16]
}
