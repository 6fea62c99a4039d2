package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxLogs bounds the log output read at once.
const maxLogs = 8 << 20

// demux reads the log stream of a container without a TTY, where each
// chunk is framed by an 8-byte header (stream, 3 zero bytes, big-endian
// length), and returns the payloads in order. A raw stream (TTY
// containers, or a daemon that says so by its content type) is returned as
// is.
func demux(r io.Reader, contentType string) ([]byte, error) {
	r = io.LimitReader(r, maxLogs)
	if contentType == "application/vnd.docker.raw-stream" {
		return io.ReadAll(r)
	}
	var out bytes.Buffer
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return out.Bytes(), nil
			}
			return out.Bytes(), fmt.Errorf("read log frame: %w", err)
		}
		if hdr[0] > 2 || hdr[1] != 0 || hdr[2] != 0 || hdr[3] != 0 {
			// Not a multiplexed stream: the header was text.
			out.Write(hdr[:])
			_, err := io.Copy(&out, r)
			return out.Bytes(), err
		}
		n := int64(binary.BigEndian.Uint32(hdr[4:]))
		if _, err := io.CopyN(&out, r, n); err != nil {
			return out.Bytes(), fmt.Errorf("read log frame: %w", err)
		}
	}
}
