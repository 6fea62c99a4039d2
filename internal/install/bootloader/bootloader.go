// Package bootloader keeps systemd-boot and Plinth's two boot slots on the
// EFI System Partition, and the Boot Loader Interface's EFI variables that
// choose a slot for one boot.
//
// # The ESP
//
// Paths are relative to the mounted ESP:
//
//	EFI/BOOT/BOOTX64.EFI              systemd-boot (the firmware's fallback path)
//	EFI/systemd/systemd-bootx64.efi   the same binary, at its own path
//	loader/loader.conf                default plinth-<committed slot>.conf, no menu
//	loader/entries/plinth-a.conf      slot A's entry: title, version, linux, initrd, options
//	loader/entries/plinth-b.conf      slot B's entry
//	plinth/A/vmlinuz, plinth/A/initramfs
//	plinth/B/vmlinuz, plinth/B/initramfs
//
// Every file is written under a temporary name, synced, renamed into place
// and its directory synced. A slot's entry is removed before its files are
// rewritten and written after both are complete, so systemd-boot (which
// skips entries whose kernel is missing, and never sees a half-written
// one) only offers a complete slot.
//
// # Boot selection
//
// loader.conf names the committed slot. An upgrade writes the other slot
// and sets LoaderEntryOneShot to its entry: systemd-boot boots it once and
// deletes the variable, so any failure of that boot comes back to the
// committed slot. Only SetDefault makes the new slot the committed one:
//
//	committed A ──AdoptSlot(B), SetOneShot(B)──▶ trial boot of B ──healthy──▶ SetDefault(B): committed B
//	                                                        └──failure, reboot──▶ default: A again
package bootloader

import (
	"fmt"
	"strings"
)

// Slot names one of the two boot slots.
type Slot string

// The two slots.
const (
	SlotA Slot = "A"
	SlotB Slot = "B"
)

// Other is the slot that is not s.
func (s Slot) Other() Slot {
	if s == SlotA {
		return SlotB
	}
	return SlotA
}

// ParseSlot reads a slot name: "A" or "B", in either case.
func ParseSlot(s string) (Slot, error) {
	switch strings.ToUpper(s) {
	case "A":
		return SlotA, nil
	case "B":
		return SlotB, nil
	}
	return "", fmt.Errorf("invalid boot slot %q: want A or B", s)
}

// EntryName is the file name of the slot's loader entry, e.g.
// "plinth-a.conf"; it is also the entry's identifier for systemd-boot (the
// value of LoaderEntryOneShot and LoaderEntrySelected).
func EntryName(slot Slot) string {
	return "plinth-" + strings.ToLower(string(slot)) + ".conf"
}

// EntrySlot is the slot whose entry is named name (as EntryName gives it,
// in any case): it maps LoaderEntrySelected back to a slot. ok is false for
// any other name.
func EntrySlot(name string) (slot Slot, ok bool) {
	for _, s := range []Slot{SlotA, SlotB} {
		if strings.EqualFold(name, EntryName(s)) {
			return s, true
		}
	}
	return "", false
}

// valid reports whether s is A or B.
func (s Slot) valid() error {
	if s != SlotA && s != SlotB {
		return fmt.Errorf("invalid boot slot %q: want A or B", string(s))
	}
	return nil
}
