package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Read reads a bundle from r as a stream. The manifest must be the first
// entry and valid (Manifest.Validate). For each following entry, in the
// manifest's order, Read calls open(name, size) — size is the manifest's,
// so the callee may preallocate — copies the entry into the returned writer
// while hashing it, and closes the writer. It returns the manifest once the
// kernel and the initramfs were both copied and matched their sizes and
// checksums, and the archive ended.
//
// A writer receives bytes before they are verified: when Read returns an
// error, everything written through the writers of that call is incomplete
// or unverified and the caller must discard it. Read closes every writer it
// opened exactly once, also on failure (a Close error is returned only when
// the copy itself succeeded). Errors name the entry and what was expected;
// those about the bundle's content wrap ErrInvalid, those of r are
// returned wrapped, those of open and of the writers name the entry.
func Read(r io.Reader, open func(name string, size int64) (io.WriteCloser, error)) (Manifest, error) {
	tr := tar.NewReader(r)
	m, err := readManifest(tr)
	if err != nil {
		return m, err
	}
	for _, f := range m.Files {
		hdr, err := tr.Next()
		if err == io.EOF {
			return m, invalidf("archive ends before %s", f.Name)
		}
		if err != nil {
			return m, archiveError("entry "+f.Name, err)
		}
		if err := checkHeader(hdr, f); err != nil {
			return m, err
		}
		if err := copyEntry(tr, f, open); err != nil {
			return m, err
		}
	}
	hdr, err := tr.Next()
	if err == nil {
		return m, invalidf("unexpected entry %.80q after %s (a bundle holds only %s, %s and %s)",
			hdr.Name, InitrdName, ManifestName, KernelName, InitrdName)
	}
	if err != io.EOF {
		return m, archiveError("end of archive", err)
	}
	return m, nil
}

// ReadManifest reads only the manifest, the bundle's first entry, and
// validates it; it does not read or check the files (for display, such as
// the version a bundle holds).
func ReadManifest(r io.Reader) (Manifest, error) {
	return readManifest(tar.NewReader(r))
}

// readManifest reads and validates the first entry of tr.
func readManifest(tr *tar.Reader) (Manifest, error) {
	var m Manifest
	hdr, err := tr.Next()
	if err == io.EOF {
		return m, invalidf("empty archive, want %s first", ManifestName)
	}
	if err != nil {
		return m, archiveError(ManifestName, err)
	}
	if hdr.Name != ManifestName {
		return m, invalidf("first entry is %.80q, want %s", hdr.Name, ManifestName)
	}
	if hdr.Typeflag != tar.TypeReg {
		return m, invalidf("%s is not a regular file (type %q)", ManifestName, hdr.Typeflag)
	}
	if hdr.Size <= 0 || hdr.Size > MaxManifestSize {
		return m, invalidf("%s: size %d is not in 1..%d", ManifestName, hdr.Size, MaxManifestSize)
	}
	data, err := io.ReadAll(io.LimitReader(tr, MaxManifestSize))
	if err != nil {
		return m, archiveError(ManifestName, err)
	}
	if err := decodeManifest(data, &m); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// decodeManifest decodes a manifest strictly: one JSON object (Unmarshal
// refuses anything after it), a known format, no unknown fields; then
// validates it.
func decodeManifest(data []byte, m *Manifest) error {
	var probe struct {
		Format int `json:"format"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return invalidf("%s: %v", ManifestName, err)
	}
	if probe.Format != FormatVersion {
		return invalidf("%s: format %d, this reader knows %d", ManifestName, probe.Format, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return invalidf("%s: %v", ManifestName, err)
	}
	return m.Validate()
}

// checkHeader checks that hdr is the entry f of the manifest.
func checkHeader(hdr *tar.Header, f File) error {
	if hdr.Name != f.Name {
		return invalidf("entry %.80q where %s was expected", hdr.Name, f.Name)
	}
	if hdr.Typeflag != tar.TypeReg {
		return invalidf("%s is not a regular file (type %q)", f.Name, hdr.Typeflag)
	}
	if hdr.Size != f.Size {
		return invalidf("%s: %d bytes in the archive, the manifest says %d", f.Name, hdr.Size, f.Size)
	}
	return nil
}

// copyEntry copies the current entry of tr into the writer open returns,
// hashing it, and closes the writer.
func copyEntry(tr *tar.Reader, f File, open func(name string, size int64) (io.WriteCloser, error)) error {
	w, err := open(f.Name, f.Size)
	if err != nil {
		return fmt.Errorf("bundle: open %s: %w", f.Name, err)
	}
	src := &readErr{r: tr}
	h := sha256.New()
	n, err := io.Copy(w, io.TeeReader(src, h))
	if err != nil {
		w.Close()
		if src.err != nil {
			return archiveError(f.Name, src.err)
		}
		return fmt.Errorf("bundle: write %s: %w", f.Name, err)
	}
	if n != f.Size {
		w.Close()
		return invalidf("%s: %d bytes, the manifest says %d", f.Name, n, f.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		w.Close()
		return invalidf("%s: checksum mismatch: sha256 %s, the manifest says %s", f.Name, got, f.SHA256)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("bundle: close %s: %w", f.Name, err)
	}
	return nil
}

// readErr remembers the error of its reader, so a failed copy can tell a
// read error from a write error.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// archiveError wraps an error of the tar reader: a malformed or truncated
// archive is ErrInvalid, anything else is an error of the underlying reader.
func archiveError(what string, err error) error {
	if errors.Is(err, tar.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, tar.ErrInsecurePath) || errors.Is(err, tar.ErrFieldTooLong) {
		return fmt.Errorf("%w: %s: truncated or malformed archive: %w", ErrInvalid, what, err)
	}
	return fmt.Errorf("bundle: read %s: %w", what, err)
}
