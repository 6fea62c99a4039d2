package bundle

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// Write writes a bundle of the kernel and initramfs files at the given paths
// to w. m carries Version, KernelRelease and Arch; Write sets Format to
// FormatVersion and fills Files by reading both files once to hash them (the
// manifest precedes them in the archive), then copies them, checking that
// they did not change in between. The archive is deterministic: the same
// manifest and files give the same bytes (USTAR headers, mode 0644, owner
// root, time 0). It returns the manifest written.
func Write(w io.Writer, m Manifest, kernelPath, initrdPath string) (Manifest, error) {
	m.Format = FormatVersion
	m.Files = nil
	paths := [...]string{kernelPath, initrdPath}
	for i, name := range fileOrder {
		size, sum, err := hashFile(paths[i])
		if err != nil {
			return m, fmt.Errorf("bundle: %s: %w", name, err)
		}
		m.Files = append(m.Files, File{Name: name, Size: size, SHA256: sum})
	}
	if err := m.Validate(); err != nil {
		return m, fmt.Errorf("bundle: %w", err)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("bundle: encode manifest: %w", err)
	}
	data = append(data, '\n')
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(header(ManifestName, int64(len(data)))); err != nil {
		return m, fmt.Errorf("bundle: %s: %w", ManifestName, err)
	}
	if _, err := tw.Write(data); err != nil {
		return m, fmt.Errorf("bundle: %s: %w", ManifestName, err)
	}
	for i, f := range m.Files {
		if err := copyFile(tw, paths[i], f); err != nil {
			return m, fmt.Errorf("bundle: %s: %w", f.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return m, fmt.Errorf("bundle: close archive: %w", err)
	}
	return m, nil
}

// header is the tar header of one entry.
func header(name string, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     0o644,
		Size:     size,
		ModTime:  time.Unix(0, 0),
		Format:   tar.FormatUSTAR,
	}
}

// hashFile returns the size and hex SHA-256 of the file at path.
func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", path, err)
	}
	if n > MaxFileSize {
		return 0, "", fmt.Errorf("%s is larger than %d bytes", path, int64(MaxFileSize))
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// copyFile appends the file at path as the entry f, checking that its
// content is still what the manifest says.
func copyFile(tw *tar.Writer, path string, f File) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := tw.WriteHeader(header(f.Name, f.Size)); err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(tw, h), src, f.Size); err != nil {
		return fmt.Errorf("copy %s: %w (did it change while the bundle was written?)", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("%s changed while the bundle was written (sha256 %s, then %s)", path, f.SHA256, got)
	}
	return nil
}
