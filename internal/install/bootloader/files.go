package bootloader

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// writeFile writes the ESP-relative file rel from r: into a temporary file
// beside it, synced, then renamed over rel, and the directory synced. On
// error the temporary file is removed and rel is left as it was.
func (e ESP) writeFile(rel string, r io.Reader) (err error) {
	dir, base := path.Split(rel)
	if err := e.mkdirs(dir); err != nil {
		return err
	}
	final := e.abs(rel)
	tmp := e.abs(path.Join(dir, "."+base+".tmp"))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := io.Copy(f, r); err != nil {
		return fmt.Errorf("write %s: %w", final, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	return syncDir(filepath.Dir(final))
}

// removeFile removes the ESP-relative file, or directory and everything
// in it, at rel and syncs its directory; rel being absent is no error.
func (e ESP) removeFile(rel string) error {
	p := e.abs(rel)
	if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := os.RemoveAll(p); err != nil {
		return err
	}
	return syncDir(filepath.Dir(p))
}

// mkdirs makes the ESP-relative directory rel and its missing parents,
// syncing the parent of each one made. The ESP root must exist.
func (e ESP) mkdirs(rel string) error {
	if _, err := os.Stat(e.Root); err != nil {
		return fmt.Errorf("ESP root: %w", err)
	}
	cur := e.Root
	for _, part := range strings.Split(strings.Trim(rel, "/"), "/") {
		if part == "" {
			continue
		}
		next := filepath.Join(cur, part)
		err := os.Mkdir(next, 0o755)
		switch {
		case err == nil:
			if err := syncDir(cur); err != nil {
				return err
			}
		case errors.Is(err, os.ErrExist):
			if fi, err := os.Stat(next); err != nil || !fi.IsDir() {
				return fmt.Errorf("%s is not a directory", next)
			}
		default:
			return err
		}
		cur = next
	}
	return nil
}

// syncDir makes the entries of directory dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
