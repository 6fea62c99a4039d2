package initramfs

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// minimalELF is an ELF64 x86-64 executable header with no program headers.
func minimalELF() []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1                // 64-bit, little-endian, version 1
	binary.LittleEndian.PutUint16(h[16:], 2)  // ET_EXEC
	binary.LittleEndian.PutUint16(h[18:], 62) // EM_X86_64
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint16(h[52:], 64) // e_ehsize
	return h
}

func TestCheckInit(t *testing.T) {
	dir := t.TempDir()
	static := filepath.Join(dir, "static")
	if err := os.WriteFile(static, minimalELF(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckInit(static); err != nil {
		t.Errorf("static: %v", err)
	}
	script := filepath.Join(dir, "script")
	_ = os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	if err := CheckInit(script); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("script: %v", err)
	}
	for _, dyn := range []string{"/bin/ls", "/usr/bin/ls"} {
		if _, err := os.Stat(dyn); err == nil {
			if err := CheckInit(dyn); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
				t.Errorf("%s: %v", dyn, err)
			}
			break
		}
	}
}
