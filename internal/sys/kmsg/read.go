package kmsg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"syscall"
)

// DevicePath is the kernel log device.
const DevicePath = "/dev/kmsg"

// maxRecord is the largest record the kernel returns from one read
// (CONSOLE_EXT_LOG_MAX); a smaller buffer makes read fail with EINVAL.
const maxRecord = 8192

// Source is an open kernel log. Its lifecycle is Open → (SeekEnd) →
// Read/Wait ... → Close, all from one goroutine.
type Source interface {
	// Read reads the next whole record into p. It returns an error wrapping
	// syscall.EAGAIN (or 0 bytes, or io.EOF) when no record is ready, and
	// one wrapping syscall.EPIPE when the next record was overwritten
	// before it could be read; reading again then returns the oldest
	// record still kept.
	Read(p []byte) (int, error)
	// SeekEnd skips every record logged so far.
	SeekEnd() error
	// Wait blocks until a record may be ready or ctx is done; then it
	// returns ctx.Err().
	Wait(ctx context.Context) error
	// Close releases the source.
	Close() error
}

// Opener opens the kernel log at path.
type Opener func(path string) (Source, error)

// ErrUnavailable is matched (errors.Is) by the error Read returns when the
// kernel log cannot be opened, so machined can answer with a clear status.
var ErrUnavailable = errors.New("kernel log unavailable")

// UnavailableError says that the kernel log at Path could not be opened.
// It unwraps to both ErrUnavailable and the cause Err.
type UnavailableError struct {
	Path string
	Err  error
}

// Error explains that the log is unavailable and why.
func (e *UnavailableError) Error() string {
	reason := e.Err
	var pathErr *fs.PathError
	if errors.As(e.Err, &pathErr) {
		reason = pathErr.Err
	}
	return fmt.Sprintf("dmesg: %s is not readable here (%v): the kernel log is unavailable in this container or to this user",
		e.Path, reason)
}

// Unwrap returns ErrUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// Reader reads kernel logs through Open.
type Reader struct {
	// Open opens the log; OpenDevice when nil.
	Open Opener
}

// Read reads the kernel log at path (normally DevicePath) with OpenDevice;
// see Reader.Read.
func Read(ctx context.Context, path string, follow, tail bool, emit func(line []byte) error) error {
	return Reader{}.Read(ctx, path, follow, tail, emit)
}

// Read passes each record of the log at path to emit as one formatted line
// (see Format). With tail it first skips the records logged so far. Without
// follow it returns nil once no record is ready; with follow it waits for
// new records until ctx is done and then returns ctx.Err(). Overwritten
// records are skipped. An error from emit ends the read and is returned as
// it is. A record that does not parse is passed on unformatted.
func (r Reader) Read(ctx context.Context, path string, follow, tail bool, emit func(line []byte) error) error {
	open := r.Open
	if open == nil {
		open = OpenDevice
	}
	src, err := open(path)
	if err != nil {
		return &UnavailableError{Path: path, Err: err}
	}
	defer src.Close() //nolint:errcheck // read-only
	if tail {
		if err := src.SeekEnd(); err != nil {
			return fmt.Errorf("dmesg: seek to the end of %s: %w", path, err)
		}
	}
	buf := make([]byte, maxRecord)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := src.Read(buf)
		switch {
		case errors.Is(err, syscall.EPIPE):
			continue
		case n == 0 && (err == nil || errors.Is(err, syscall.EAGAIN) || errors.Is(err, io.EOF)):
			if !follow {
				return nil
			}
			if err := src.Wait(ctx); err != nil {
				return err
			}
			continue
		case err != nil:
			return fmt.Errorf("dmesg: read %s: %w", path, err)
		}
		if err := emit(formatOrRaw(buf[:n])); err != nil {
			return err
		}
	}
}

// formatOrRaw formats a record, or returns it as one raw line when it does
// not parse, so that nothing the kernel logged is lost.
func formatOrRaw(rec []byte) []byte {
	if line, err := FormatRecord(rec); err == nil {
		return line
	}
	raw, _, _ := bytes.Cut(rec, []byte{'\n'})
	return append(bytes.Clone(raw), '\n')
}
