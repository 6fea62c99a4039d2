package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

// StateFile is the name of the cluster description in its state directory.
const StateFile = "cluster.json"

// Save writes the cluster description atomically into its state directory.
func (c *Cluster) Save() error {
	if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
		return fmt.Errorf("save cluster %s: %w", c.Name, err)
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("save cluster %s: %w", c.Name, err)
	}
	return fsutil.WriteFileAtomic(filepath.Join(c.StateDir, StateFile), append(data, '\n'), 0o600)
}

// Load reads the named cluster's description.
func Load(name string) (*Cluster, error) {
	dir, err := Dir(name)
	if err != nil {
		return nil, err
	}
	return LoadDir(dir)
}

// LoadDir reads a cluster description from a state directory.
func LoadDir(dir string) (*Cluster, error) {
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no %s in %s", ErrNotFound, StateFile, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("load cluster: %w", err)
	}
	var c Cluster
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("load cluster %s: %w", dir, err)
	}
	return &c, nil
}

// List returns the names of the clusters with a state directory.
func List() ([]string, error) {
	base, err := ClustersDir()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	var names []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(base, e.Name(), StateFile)); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}
