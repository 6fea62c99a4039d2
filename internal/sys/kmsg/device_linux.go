package kmsg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// pollTimeoutMillis bounds one poll of the device, so that Wait notices a
// cancelled context within that time.
const pollTimeoutMillis = 250

// device is /dev/kmsg opened non-blocking, used through raw system calls so
// that reads return EAGAIN instead of parking in the runtime poller.
type device struct {
	fd int
}

// OpenDevice opens the kernel log device at path read-only and non-blocking.
func OpenDevice(path string) (Source, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &device{fd: fd}, nil
}

// Read reads one record; it retries when interrupted by a signal.
func (d *device) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(d.fd, p)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, err
		}
		return n, nil
	}
}

// SeekEnd skips the records logged so far.
func (d *device) SeekEnd() error {
	if _, err := unix.Seek(d.fd, 0, io.SeekEnd); err != nil {
		return fmt.Errorf("seek: %w", err)
	}
	return nil
}

// Wait polls the device until it is readable (or reports overwritten
// records) or ctx is done.
func (d *device) Wait(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		fds := []unix.PollFd{{Fd: int32(d.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, pollTimeoutMillis)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		if n > 0 {
			return nil
		}
	}
}

// Close closes the device.
func (d *device) Close() error {
	if err := unix.Close(d.fd); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}
