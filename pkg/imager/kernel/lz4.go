package kernel

import (
	"encoding/binary"
	"fmt"

	"github.com/pierrec/lz4/v4"
)

// LZ4 legacy frames (lz4 -l, used by the kernel): the magic 0x184C2102,
// then blocks, each a little-endian u32 compressed length and an LZ4 block
// that decompresses to at most 8 MiB. Every block but the last is exactly
// 8 MiB uncompressed.
const (
	lz4LegacyMagic = 0x184C2102
	lz4LegacyBlock = 8 << 20
)

// unLZ4Legacy decompresses a legacy LZ4 frame of size bytes.
func unLZ4Legacy(data []byte, size int) ([]byte, error) {
	if len(data) < 4 || binary.LittleEndian.Uint32(data) != lz4LegacyMagic {
		return nil, fmt.Errorf("no lz4 legacy magic")
	}
	out := make([]byte, 0, size)
	off := 4
	for off < len(data) && len(out) < size {
		if off+4 > len(data) {
			return nil, fmt.Errorf("truncated block header at %d", off)
		}
		n := int(binary.LittleEndian.Uint32(data[off:]))
		if n == lz4LegacyMagic {
			off += 4 // a concatenated frame
			continue
		}
		off += 4
		if n <= 0 || off+n > len(data) {
			return nil, fmt.Errorf("block at %d: length %d beyond the payload", off-4, n)
		}
		dst := out[len(out):min(len(out)+lz4LegacyBlock, cap(out))]
		m, err := lz4.UncompressBlock(data[off:off+n], dst)
		if err != nil {
			return nil, fmt.Errorf("block at %d: %w", off-4, err)
		}
		out = out[:len(out)+m]
		off += n
	}
	return out, nil
}
