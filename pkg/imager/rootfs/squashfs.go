package rootfs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
)

// Compression is a squashfs compressor that Debian's kernel reads.
type Compression string

// Compressions, with the options the imager passes to mksquashfs.
const (
	CompZstd Compression = "zstd"
	CompLZ4  Compression = "lz4"
	CompXZ   Compression = "xz"
	CompGzip Compression = "gzip"
	CompLZO  Compression = "lzo"
)

var compOptions = map[Compression][]string{
	CompZstd: {"-Xcompression-level", "19"},
	CompLZ4:  {"-Xhc"},
	CompXZ:   {"-Xbcj", "x86"},
	CompGzip: nil,
	CompLZO:  nil,
}

// ParseCompression checks a compressor name.
func ParseCompression(s string) (Compression, error) {
	c := Compression(s)
	if _, ok := compOptions[c]; !ok {
		return "", fmt.Errorf("unknown squashfs compression %q (want zstd, lz4, xz, gzip or lzo)", s)
	}
	return c, nil
}

// SquashOptions tune Squash.
type SquashOptions struct {
	// Compression is the compressor.
	Compression Compression
	// BlockSize is the data block size in bytes (mksquashfs -b); 128 KiB
	// when 0.
	BlockSize int
}

// Squash runs mksquashfs on dir, writing a reproducible image to out:
// files owned by root, no xattrs, timestamps zero.
func Squash(ctx context.Context, dir, out string, opts SquashOptions) error {
	bin, err := exec.LookPath("mksquashfs")
	if err != nil {
		return fmt.Errorf("mksquashfs not found (apt-get install squashfs-tools, or run hack/ensure-deps.sh): %w", err)
	}
	opt, ok := compOptions[opts.Compression]
	if !ok {
		return fmt.Errorf("squash: unknown compression %q", opts.Compression)
	}
	block := opts.BlockSize
	if block == 0 {
		block = 128 << 10
	}
	if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("squash: %w", err)
	}
	args := []string{dir, out, "-noappend", "-comp", string(opts.Compression)}
	args = append(args, opt...)
	args = append(args, "-b", strconv.Itoa(block), "-all-root", "-no-xattrs",
		"-mkfs-time", "0", "-all-time", "0", "-no-progress", "-quiet")
	if b, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("mksquashfs %s: %w: %s", out, err, b)
	}
	return nil
}
