package kernel

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"os/exec"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// fakeELF is large enough to span several LZ4 legacy blocks.
func fakeELF() []byte {
	b := append([]byte{}, elfMagic...)
	b = append(b, bytes.Repeat([]byte("vmlinux text "), (lz4LegacyBlock*2)/13+1000)...)
	return b
}

// bzImage wraps a compressed payload the way the kernel build does.
func bzImage(payload []byte, size int) []byte {
	const setupSects = 2
	pmOffset := (setupSects + 1) * 512
	const payloadOffset = 64
	img := make([]byte, pmOffset+payloadOffset)
	img[0x1f1] = setupSects
	copy(img[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(img[0x206:], 0x20f)
	payload = binary.LittleEndian.AppendUint32(append([]byte{}, payload...), uint32(size))
	binary.LittleEndian.PutUint32(img[0x248:], payloadOffset)
	binary.LittleEndian.PutUint32(img[0x24c:], uint32(len(payload)))
	img = append(img, payload...)
	return append(img, make([]byte, 100)...) // the rest of the protected-mode code
}

func lz4Legacy(t testing.TB, data []byte) []byte {
	t.Helper()
	out := binary.LittleEndian.AppendUint32(nil, lz4LegacyMagic)
	var c lz4.CompressorHC
	for len(data) > 0 {
		chunk := data[:min(len(data), lz4LegacyBlock)]
		data = data[len(chunk):]
		buf := make([]byte, lz4.CompressBlockBound(len(chunk)))
		n, err := c.CompressBlock(chunk, buf)
		if err != nil || n == 0 {
			t.Fatalf("compress: %d, %v", n, err)
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(n))
		out = append(out, buf[:n]...)
	}
	return out
}

func TestExtract(t *testing.T) {
	elf := fakeELF()
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(elf)
	_ = w.Close()
	enc, _ := zstd.NewWriter(nil)
	zst := enc.EncodeAll(elf, nil)

	for name, payload := range map[Format][]byte{
		FormatGzip: gz.Bytes(),
		FormatZstd: zst,
		FormatLZ4:  lz4Legacy(t, elf),
	} {
		t.Run(string(name), func(t *testing.T) {
			img := bzImage(payload, len(elf))
			if _, f, err := Payload(img); err != nil || f != name {
				t.Fatalf("Payload: %s, %v", f, err)
			}
			got, err := Extract(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, elf) {
				t.Fatalf("got %d bytes, want the %d-byte ELF", len(got), len(elf))
			}
		})
	}
}

// TestExtractLZ4Command checks against the lz4 tool's legacy format, the
// one the kernel build uses, when lz4 is installed.
func TestExtractLZ4Command(t *testing.T) {
	if _, err := exec.LookPath("lz4"); err != nil {
		t.Skip("lz4 is not installed")
	}
	elf := fakeELF()
	cmd := exec.Command("lz4", "-l", "-9", "-c")
	cmd.Stdin = bytes.NewReader(elf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Extract(context.Background(), bzImage(out, len(elf)))
	if err != nil || !bytes.Equal(got, elf) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
}

func TestExtractErrors(t *testing.T) {
	elf := fakeELF()
	for name, c := range map[string]struct {
		img  []byte
		want string
	}{
		"no header":    {make([]byte, 4096), "not a bzImage"},
		"unknown":      {bzImage([]byte("BZh91AY&SY......"), 10), "unknown payload"},
		"size differs": {bzImage(lz4Legacy(t, elf), len(elf)+1), "header says"},
		"not elf":      {bzImage(lz4Legacy(t, []byte("not an elf file at all")), 22), "not an ELF"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Extract(context.Background(), c.img)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}
