package initramfs

import (
	"debug/elf"
	"fmt"
)

// CheckInit verifies that the file at path can be the initramfs's /init:
// an x86-64 ELF executable with no program interpreter (statically
// linked). A dynamic /init would only fail at boot, with a kernel panic.
func CheckInit(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("init %s: not an ELF executable: %w", path, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("init %s: %s %s, want an x86-64 executable", path, f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("init %s: dynamically linked (has a program interpreter); build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}
