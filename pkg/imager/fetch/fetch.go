// Package fetch downloads pinned Debian packages into a cache addressed by
// their sha256, refusing any file whose checksum or size differs from the
// pin.
package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/plinth-os/plinth/pkg/imager/inputs"
)

// Cache keeps verified packages as <Dir>/deb/<sha256>.deb.
type Cache struct {
	// Dir is the cache directory (~/.cache/plinth).
	Dir string
	// Client downloads URLs; a client with a 10-minute timeout when nil.
	Client *http.Client
	// Fallback fetches a package into dir when its URL fails and returns
	// the file's path; AptDownload when nil. Tests set it.
	Fallback func(ctx context.Context, p inputs.Package, dir string) (string, error)
	// Logf reports downloads; silent when nil.
	Logf func(format string, args ...any)
}

// Path is where a package is cached once fetched.
func (c *Cache) Path(p inputs.Package) string {
	return filepath.Join(c.Dir, "deb", p.SHA256+".deb")
}

// Get returns the path of the verified package file, downloading it first
// when the cache does not hold it.
func (c *Cache) Get(ctx context.Context, p inputs.Package) (string, error) {
	dst := c.Path(p)
	if err := Verify(dst, p); err == nil {
		return dst, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		c.logf("fetch: cached %s is bad (%v); downloading again", dst, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("fetch %s: %w", p, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".fetch-")
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", p, err)
	}
	defer os.RemoveAll(tmp)

	c.logf("fetch: downloading %s from %s", p, p.URL)
	got, err := c.download(ctx, p.URL, filepath.Join(tmp, "pkg.deb"))
	if err == nil {
		err = Verify(got, p)
	}
	if err != nil {
		c.logf("fetch: %v; trying apt-get download", err)
		fallback := c.Fallback
		if fallback == nil {
			fallback = AptDownload
		}
		var ferr error
		if got, ferr = fallback(ctx, p, tmp); ferr == nil {
			ferr = Verify(got, p)
		}
		if ferr != nil {
			return "", fmt.Errorf("fetch %s: %w", p, errors.Join(err, ferr))
		}
	}
	if err := os.Rename(got, dst); err != nil {
		return "", fmt.Errorf("fetch %s: %w", p, err)
	}
	return dst, nil
}

func (c *Cache) download(ctx context.Context, url, dst string) (string, error) {
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("download %s: %s", url, resp.Status)
	}
	f, err := os.Create(dst)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", url, err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return "", fmt.Errorf("download %s: %w", url, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("download %s: %w", url, err)
	}
	return dst, nil
}

func (c *Cache) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// Verify checks that the file at path has the package's size and sha256.
func Verify(path string, p inputs.Package) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("verify %s: %w", p.Name, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("verify %s: %w", p.Name, err)
	}
	if n != p.Size {
		return fmt.Errorf("verify %s: size %d, pinned %d", p.Name, n, p.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != p.SHA256 {
		return fmt.Errorf("verify %s: sha256 %s, pinned %s", p.Name, sum, p.SHA256)
	}
	return nil
}

// AptDownload runs `apt-get download name:arch=version` in dir and returns
// the downloaded file.
func AptDownload(ctx context.Context, p inputs.Package, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "apt-get", "download", fmt.Sprintf("%s:%s=%s", p.Name, p.Arch, p.Version))
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get download %s: %w: %s", p, err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, p.Name+"_*.deb"))
	if len(matches) != 1 {
		return "", fmt.Errorf("apt-get download %s: found %d .deb files", p, len(matches))
	}
	return matches[0], nil
}
