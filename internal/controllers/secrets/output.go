package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

// Paths of the files APICertsController writes, under the root. apid
// serves APICertPath with APIKeyPath and verifies clients with APICAPath,
// reloading them when they change; trustd reads the OS CA and the token.
// APICertPath is written last, so once it exists the other API files do;
// likewise OSCACertPath for trustd's files.
const (
	APICAPath       = constants.SystemSecretsDir + "/api/ca.crt"
	APICertPath     = constants.SystemSecretsDir + "/api/server.crt"
	APIKeyPath      = constants.SystemSecretsDir + "/api/server.key"
	OSCACertPath    = constants.SystemSecretsDir + "/os-ca.crt"
	OSCAKeyPath     = constants.SystemSecretsDir + "/os-ca.key"
	TrustdTokenPath = constants.SystemSecretsDir + "/trustd.token"
)

const (
	publicMode  fs.FileMode = 0o644
	privateMode fs.FileMode = 0o600
	dirMode     fs.FileMode = 0o700
)

// file is one file to write: where, what and with which mode.
type file struct {
	path string
	data []byte
	mode fs.FileMode
}

// writeFiles writes each file under root unless it holds its content with
// its mode already, atomically, in order: callers put the file readers wait
// for last.
func writeFiles(root string, files ...file) error {
	for _, f := range files {
		if err := writeIfChanged(filepath.Join(root, f.path), f.data, f.mode); err != nil {
			return err
		}
	}

	return nil
}

func writeIfChanged(path string, data []byte, mode fs.FileMode) error {
	cur, err := os.ReadFile(path)
	if err == nil && bytes.Equal(cur, data) {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == mode {
			return nil
		}
	}

	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("create directory of %s: %w", path, err)
	}

	return fsutil.WriteFileAtomic(path, data, mode)
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
