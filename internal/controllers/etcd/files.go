package etcd

import (
	"io/fs"

	"github.com/plinth-os/plinth/internal/controllers/internal/nodefs"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// SecretsDir holds etcd's key material on control planes.
const SecretsDir = constants.SystemSecretsDir + "/etcd"

// Paths of the files PKIController writes (node paths). kube-apiserver
// reads CACertPath and the APIServerClient pair; machined the Client pair.
const (
	CACertPath              = SecretsDir + "/ca.crt"
	ServerCertPath          = SecretsDir + "/server.crt"
	ServerKeyPath           = SecretsDir + "/server.key"
	PeerCertPath            = SecretsDir + "/peer.crt"
	PeerKeyPath             = SecretsDir + "/peer.key"
	APIServerClientCertPath = SecretsDir + "/apiserver-client.crt"
	APIServerClientKeyPath  = SecretsDir + "/apiserver-client.key"
	ClientCertPath          = SecretsDir + "/client.crt"
	ClientKeyPath           = SecretsDir + "/client.key"
)

// allPaths are every file PKIController writes.
var allPaths = []string{
	ServerCertPath, ServerKeyPath, PeerCertPath, PeerKeyPath,
	APIServerClientCertPath, APIServerClientKeyPath, ClientCertPath, ClientKeyPath, CACertPath,
}

const (
	publicMode  fs.FileMode = 0o644
	privateMode fs.FileMode = 0o600
	dirMode     fs.FileMode = 0o700
)

// secretFile is one file to write: where (a node path), what and its mode.
type secretFile = nodefs.File

// writeFiles writes the files under root (see nodefs.Write).
func writeFiles(root string, files []secretFile) error { return nodefs.Write(root, dirMode, files...) }

// removeFiles removes the files under root; missing ones are fine.
func removeFiles(root string, paths ...string) error { return nodefs.Remove(root, paths...) }

// hashFiles identifies the content of files.
func hashFiles(files []secretFile) string { return nodefs.Hash(files...) }
