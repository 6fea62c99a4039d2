package deb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// An ar archive is the magic "!<arch>\n" then members: a 60-byte header
// (name 16, mtime 12, uid 6, gid 6, mode 8, size 10, "`\n") and the data,
// padded to an even offset.
const (
	arMagic     = "!<arch>\n"
	arHeaderLen = 60
)

// arReader iterates over the members of an ar archive.
type arReader struct {
	r       *bufio.Reader
	pending int64 // unread bytes of the current member, padding included
}

func newARReader(r io.Reader) (*arReader, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(arMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != arMagic {
		return nil, errors.New("not an ar archive")
	}
	return &arReader{r: br}, nil
}

// next skips the rest of the current member and returns the next one's
// name and data, or io.EOF after the last member.
func (a *arReader) next() (string, io.Reader, error) {
	if _, err := io.CopyN(io.Discard, a.r, a.pending); err != nil {
		return "", nil, fmt.Errorf("ar: skip member: %w", err)
	}
	hdr := make([]byte, arHeaderLen)
	if _, err := io.ReadFull(a.r, hdr); err != nil {
		if errors.Is(err, io.EOF) {
			return "", nil, io.EOF
		}
		return "", nil, fmt.Errorf("ar: read header: %w", err)
	}
	if string(hdr[58:60]) != "`\n" {
		return "", nil, errors.New("ar: bad member header")
	}
	name := strings.TrimSuffix(strings.TrimSpace(string(hdr[0:16])), "/")
	size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
	if err != nil || size < 0 {
		return "", nil, fmt.Errorf("ar: member %q: bad size %q", name, hdr[48:58])
	}
	a.pending = size + size%2
	return name, &countingReader{r: io.LimitReader(a.r, size), n: &a.pending}, nil
}

// countingReader lowers *n by what is read, so next skips only the rest.
type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n -= int64(n)
	return n, err
}
