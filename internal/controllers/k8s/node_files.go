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

	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

// nodeFile is a file the node components read: a node path, its content
// and its mode.
type nodeFile struct {
	path string
	data []byte
	mode fs.FileMode
}

// writeNodeFiles writes each file under root, atomically, unless it
// already holds its content with its mode. Missing directories are made
// 0755.
func writeNodeFiles(root string, files ...nodeFile) error {
	for _, f := range files {
		full := filepath.Join(root, f.path)
		if cur, err := os.ReadFile(full); err == nil && bytes.Equal(cur, f.data) {
			if fi, err := os.Stat(full); err == nil && fi.Mode().Perm() == f.mode {
				continue
			}
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("create directory of %s: %w", f.path, err)
		}
		if err := fsutil.WriteFileAtomic(full, f.data, f.mode); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return nil
}

// removeNodeFiles removes node paths under root; missing ones are fine.
func removeNodeFiles(root string, paths ...string) error {
	var errs []error
	for _, p := range paths {
		if err := os.RemoveAll(filepath.Join(root, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// hashNodeFiles identifies files: it changes when any path, content or
// mode does. Services restart when the hash of their files changes.
func hashNodeFiles(files ...nodeFile) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s %o %d\n", f.path, f.mode, len(f.data))
		h.Write(f.data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
