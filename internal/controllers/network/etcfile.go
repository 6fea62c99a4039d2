package network

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

// etcFileMode is the mode of the /etc files these controllers write.
const etcFileMode = 0o644

// writeEtcFile writes data to path unless it holds it already. On metal it
// writes atomically. In container mode it writes in place: container
// runtimes bind-mount /etc/hostname and /etc/hosts, and a rename over a
// mount point fails.
func writeEtcFile(mode validation.Mode, path string, data []byte) error {
	cur, err := os.ReadFile(path)
	if err == nil && bytes.Equal(cur, data) {
		return nil
	}

	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create directory of %s: %w", path, err)
	}

	if mode == validation.ModeContainer {
		if err := os.WriteFile(path, data, etcFileMode); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}

		return nil
	}

	return fsutil.WriteFileAtomic(path, data, etcFileMode)
}
