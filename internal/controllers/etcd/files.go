package etcd

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
type secretFile struct {
	path string
	data []byte
	mode fs.FileMode
}

// writeFiles writes each file under root unless it already holds its
// content with its mode, atomically, in order.
func writeFiles(root string, files []secretFile) error {
	for _, f := range files {
		path := filepath.Join(root, f.path)

		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, f.data) {
			if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == f.mode {
				continue
			}
		}

		if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
			return fmt.Errorf("create directory of %s: %w", f.path, err)
		}

		if err := fsutil.WriteFileAtomic(path, f.data, f.mode); err != nil {
			return err
		}
	}

	return nil
}

// removeFiles removes the files under root; missing ones are fine.
func removeFiles(root string, paths ...string) error {
	var errs []error

	for _, p := range paths {
		if err := os.Remove(filepath.Join(root, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
		}
	}

	return errors.Join(errs...)
}

// hashFiles identifies the content of files.
func hashFiles(files []secretFile) string {
	h := sha256.New()

	for _, f := range files {
		fmt.Fprintf(h, "%s %o %d\n", f.path, f.mode, len(f.data))
		h.Write(f.data)
	}

	return hex.EncodeToString(h.Sum(nil))[:16]
}
