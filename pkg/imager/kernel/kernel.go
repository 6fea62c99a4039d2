// Package kernel extracts the uncompressed vmlinux ELF from an x86 bzImage
// (vmlinuz). Booting vmlinux directly (PVH entry, e.g. QEMU with qboot)
// skips the kernel's self-decompression, which is slow under emulation.
//
// A bzImage is the real-mode setup (setup_sects+1 sectors of 512 bytes)
// followed by the protected-mode code, which embeds the compressed kernel.
// Setup header fields used (boot protocol >= 2.08):
//
//	0x1f1 setup_sects (u8, 0 means 4)
//	0x202 "HdrS"
//	0x206 protocol version (u16)
//	0x248 payload_offset (u32, from the start of the protected-mode code)
//	0x24c payload_length (u32)
//
// The payload is the compressed ELF, followed by its uncompressed size as
// a little-endian u32.
package kernel

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"

	"github.com/klauspost/compress/zstd"
)

// Format names a payload compression.
type Format string

// Payload compressions Extract understands.
const (
	FormatGzip Format = "gzip"
	FormatLZ4  Format = "lz4"
	FormatZstd Format = "zstd"
	FormatXZ   Format = "xz"
)

var elfMagic = []byte{0x7f, 'E', 'L', 'F'}

// maxVmlinux bounds the size a payload may claim (a variable for fuzzing).
var maxVmlinux = 1 << 30

// Payload returns the compressed payload of a bzImage and its format.
func Payload(bz []byte) ([]byte, Format, error) {
	if len(bz) < 0x250 || string(bz[0x202:0x206]) != "HdrS" {
		return nil, "", errors.New("not a bzImage (no HdrS setup header)")
	}
	if v := binary.LittleEndian.Uint16(bz[0x206:]); v < 0x208 {
		return nil, "", fmt.Errorf("boot protocol %#x has no payload fields (need >= 0x208)", v)
	}
	setup := int(bz[0x1f1])
	if setup == 0 {
		setup = 4
	}
	off := (setup+1)*512 + int(binary.LittleEndian.Uint32(bz[0x248:]))
	n := int(binary.LittleEndian.Uint32(bz[0x24c:]))
	if off < 0 || n < 8 || off+n > len(bz) {
		return nil, "", fmt.Errorf("payload [%d, +%d) outside the %d-byte image", off, n, len(bz))
	}
	p := bz[off : off+n]
	switch {
	case bytes.HasPrefix(p, []byte{0x1f, 0x8b}):
		return p, FormatGzip, nil
	case bytes.HasPrefix(p, []byte{0x02, 0x21, 0x4c, 0x18}):
		return p, FormatLZ4, nil
	case bytes.HasPrefix(p, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return p, FormatZstd, nil
	case bytes.HasPrefix(p, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return p, FormatXZ, nil
	}
	return nil, "", fmt.Errorf("unknown payload compression (magic % x)", p[:4])
}

// Extract returns the vmlinux ELF inside a bzImage.
func Extract(ctx context.Context, bz []byte) ([]byte, error) {
	p, format, err := Payload(bz)
	if err != nil {
		return nil, fmt.Errorf("extract vmlinux: %w", err)
	}
	size := int(binary.LittleEndian.Uint32(p[len(p)-4:]))
	if size > maxVmlinux {
		return nil, fmt.Errorf("extract vmlinux: payload claims %d bytes, more than %d", size, maxVmlinux)
	}
	data := p[:len(p)-4]
	var out []byte
	switch format {
	case FormatGzip:
		out, err = gunzip(data)
	case FormatLZ4:
		out, err = unLZ4Legacy(data, size)
	case FormatZstd:
		out, err = unzstd(data)
	case FormatXZ:
		// The kernel's xz streams use the x86 BCJ filter, which the Go xz
		// package lacks: use xz(1).
		out, err = unxzCommand(ctx, data)
	}
	if err != nil {
		return nil, fmt.Errorf("extract vmlinux: %s payload: %w", format, err)
	}
	if len(out) != size {
		return nil, fmt.Errorf("extract vmlinux: %s payload gave %d bytes, header says %d", format, len(out), size)
	}
	if !bytes.HasPrefix(out, elfMagic) {
		return nil, fmt.Errorf("extract vmlinux: %s payload is not an ELF file", format)
	}
	return out, nil
}

func gunzip(data []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	r.Multistream(false)
	return io.ReadAll(r)
}

func unzstd(data []byte) ([]byte, error) {
	d, err := zstd.NewReader(nil)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.DecodeAll(data, nil)
}

func unxzCommand(ctx context.Context, data []byte) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "xz", "-dc")
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("xz -dc: %w: %s", err, stderr.Bytes())
	}
	return out, nil
}
