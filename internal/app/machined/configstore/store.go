// Package configstore keeps the machine config in STATE: the active
// config.yaml and a config.staged.yaml that the next boot promotes. Every
// write is atomic: a crash leaves either the old or the new file.
package configstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

// fileMode is the mode of config files: they hold secrets.
const fileMode = 0o600

// Store reads and writes the config files in one directory.
type Store struct {
	dir string
}

// New returns the store of the STATE directory dir.
func New(dir string) *Store { return &Store{dir: dir} }

// Path is the active config's path.
func (s *Store) Path() string { return filepath.Join(s.dir, constants.ConfigFile) }

// StagedPath is the staged config's path.
func (s *Store) StagedPath() string { return filepath.Join(s.dir, constants.StagedConfigFile) }

// Load returns the active config's bytes, or nil without error when there
// is none.
func (s *Store) Load() ([]byte, error) {
	data, err := os.ReadFile(s.Path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return data, nil
}

// Save replaces the active config.
func (s *Store) Save(data []byte) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := fsutil.WriteFileAtomic(s.Path(), data, fileMode); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

// SaveStaged stores a config for the next boot.
func (s *Store) SaveStaged(data []byte) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("stage config: %w", err)
	}
	if err := fsutil.WriteFileAtomic(s.StagedPath(), data, fileMode); err != nil {
		return fmt.Errorf("stage config: %w", err)
	}
	return nil
}

// PromoteStaged makes a staged config the active one, atomically (a
// rename), and reports whether there was one.
func (s *Store) PromoteStaged() (bool, error) {
	err := os.Rename(s.StagedPath(), s.Path())
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("promote staged config: %w", err)
	}
	return true, nil
}

// Remove deletes the active and the staged config; missing files are fine.
func (s *Store) Remove() error {
	for _, p := range []string{s.Path(), s.StagedPath()} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove config: %w", err)
		}
	}
	return nil
}
