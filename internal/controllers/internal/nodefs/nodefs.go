// Package nodefs writes the files controllers generate for node programs
// (configs, certificates, kubeconfigs) under machined's root: atomically,
// only when their content or mode changed, and identified by a hash so a
// service restarts when its files change.
package nodefs

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

// File is one file: a node path (joined to the root when written), its
// content and its mode.
type File struct {
	Path string
	Data []byte
	Mode fs.FileMode
}

// Write writes each file under root, in order, atomically, unless it
// already holds its content with its mode. Missing directories are made
// with dirMode.
func Write(root string, dirMode fs.FileMode, files ...File) error {
	for _, f := range files {
		full := filepath.Join(root, f.Path)
		if cur, err := os.ReadFile(full); err == nil && bytes.Equal(cur, f.Data) {
			if fi, err := os.Stat(full); err == nil && fi.Mode().Perm() == f.Mode {
				continue
			}
		}
		if err := os.MkdirAll(filepath.Dir(full), dirMode); err != nil {
			return fmt.Errorf("create directory of %s: %w", f.Path, err)
		}
		if err := fsutil.WriteFileAtomic(full, f.Data, f.Mode); err != nil {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
	}
	return nil
}

// Remove removes node paths under root; missing ones are fine.
func Remove(root string, paths ...string) error {
	var errs []error
	for _, p := range paths {
		if err := os.RemoveAll(filepath.Join(root, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// Hash identifies files: it changes when any path, content or mode does.
func Hash(files ...File) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s %o %d\n", f.Path, f.Mode, len(f.Data))
		h.Write(f.Data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
