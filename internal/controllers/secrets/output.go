package secrets

import (
	"io/fs"

	"github.com/plinth-os/plinth/internal/controllers/internal/nodefs"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
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
type file = nodefs.File

// writeFiles writes the files under root in order (see nodefs.Write):
// callers put the file readers wait for last.
func writeFiles(root string, files ...file) error { return nodefs.Write(root, dirMode, files...) }

// removeFiles removes the files under root; missing ones are fine.
func removeFiles(root string, paths ...string) error { return nodefs.Remove(root, paths...) }
