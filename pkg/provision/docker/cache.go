package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

// PrivilegesCacheFile is the name, in the clusters directory, of the file
// that keeps the privileges decision of each Docker daemon, so that the
// probe containers run once per daemon, kernel and bounding set.
const PrivilegesCacheFile = ".docker-privileges.json"

// cachedPrivileges is the cache file's content.
type cachedPrivileges struct {
	// Key identifies the daemon, its version, the kernel and the bounding set.
	Key        string     `json:"key"`
	Privileges Privileges `json:"privileges"`
}

// privileges returns the cached decision for this daemon, or detects and
// caches it.
func (p *Provisioner) privileges(ctx context.Context, image string) (Privileges, error) {
	info, err := p.engine.Info(ctx)
	if err != nil {
		return Privileges{}, err
	}
	key := fmt.Sprintf("%s %s %s", info.ID, info.ServerVersion, info.KernelVersion)
	if bnd, last, err := p.hostCaps(); err == nil {
		key += fmt.Sprintf(" capbnd=%x/%d", bnd, last)
	}
	if c, ok := p.readCache(); ok && c.Key == key {
		return c.Privileges, nil
	}
	priv, err := p.detectPrivileges(ctx, image)
	if err != nil {
		return Privileges{}, err
	}
	p.writeCache(cachedPrivileges{Key: key, Privileges: priv})
	return priv, nil
}

func (p *Provisioner) readCache() (cachedPrivileges, bool) {
	var c cachedPrivileges
	if p.cacheFile == "" {
		return c, false
	}
	data, err := os.ReadFile(p.cacheFile)
	if err != nil || json.Unmarshal(data, &c) != nil {
		return c, false
	}
	return c, true
}

// writeCache stores the decision; a cache that cannot be written only
// costs a probe next time.
func (p *Provisioner) writeCache(c cachedPrivileges) {
	if p.cacheFile == "" {
		return
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(p.cacheFile), 0o700) == nil {
		_ = fsutil.WriteFileAtomic(p.cacheFile, append(data, '\n'), 0o600)
	}
}
