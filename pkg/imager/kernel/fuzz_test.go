package kernel

import (
	"context"
	"testing"
)

func FuzzExtract(f *testing.F) {
	f.Add(bzImage(lz4Legacy(f, append(append([]byte{}, elfMagic...), "tiny"...)), 8))
	f.Add(bzImage([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0}, 4))
	f.Add(bzImage([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0}, 4))
	maxVmlinux = 1 << 20
	f.Fuzz(func(t *testing.T, img []byte) {
		if _, format, err := Payload(img); err != nil || format == FormatXZ {
			return // xz runs an external tool
		}
		_, _ = Extract(context.Background(), img)
	})
}
