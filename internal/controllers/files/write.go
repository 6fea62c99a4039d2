package files

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

// writablePrefixes are the only places static files may be written: the
// rest of the root file system is immutable. The config validator enforces
// this too; the controller checks again before it writes.
var writablePrefixes = []string{"/var/", "/etc/cri/conf.d/"}

// defaultMode is the mode of a static file without permissions.
const defaultMode = 0o644

// checkPath refuses paths outside the writable prefixes.
func checkPath(p string) error {
	if !path.IsAbs(p) || path.Clean(p) != p {
		return fmt.Errorf("path %q is not a clean absolute path", p)
	}

	for _, prefix := range writablePrefixes {
		if strings.HasPrefix(p, prefix) {
			return nil
		}
	}

	return fmt.Errorf("path %q is not under /var or /etc/cri/conf.d", p)
}

// fileMode converts Unix permission bits (0o7777) to an fs.FileMode.
func fileMode(perm uint32) fs.FileMode {
	if perm == 0 {
		perm = defaultMode
	}

	mode := fs.FileMode(perm & 0o777)
	if perm&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}

	if perm&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}

	if perm&0o1000 != 0 {
		mode |= fs.ModeSticky
	}

	return mode
}

const permBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// createFile makes full hold exactly data with mode, atomically, unless it
// does already.
func createFile(full string, data []byte, mode fs.FileMode) error {
	cur, err := os.ReadFile(full)
	if err == nil && bytes.Equal(cur, data) {
		return ensureMode(full, mode)
	}

	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", full, err)
	}

	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return fmt.Errorf("create directory of %s: %w", full, err)
	}

	return fsutil.WriteFileAtomic(full, data, mode)
}

// appendFile adds data at the end of full, creating it with mode if needed.
func appendFile(full string, data []byte, mode fs.FileMode) (err error) {
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return fmt.Errorf("create directory of %s: %w", full, err)
	}

	f, err := os.OpenFile(full, os.O_WRONLY|os.O_APPEND|os.O_CREATE, mode)
	if err != nil {
		return fmt.Errorf("append to %s: %w", full, err)
	}

	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("append to %s: %w", full, cerr)
		}
	}()

	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("append to %s: %w", full, err)
	}

	if err := f.Sync(); err != nil {
		return fmt.Errorf("append to %s: sync: %w", full, err)
	}

	return ensureMode(full, mode)
}

// endsWith reports whether the file at full exists and ends with data.
func endsWith(full string, data []byte) (bool, error) {
	cur, err := os.ReadFile(full)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}

	if err != nil {
		return false, fmt.Errorf("read %s: %w", full, err)
	}

	return len(data) > 0 && bytes.HasSuffix(cur, data), nil
}

// ensureMode sets the permission bits of full to mode if they differ.
func ensureMode(full string, mode fs.FileMode) error {
	fi, err := os.Stat(full)
	if err != nil {
		return fmt.Errorf("stat %s: %w", full, err)
	}

	if fi.Mode()&permBits == mode {
		return nil
	}

	if err := os.Chmod(full, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", full, err)
	}

	return nil
}
