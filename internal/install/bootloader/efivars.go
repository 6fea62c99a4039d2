package bootloader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf16"

	"golang.org/x/sys/unix"
)

// DefaultVarsDir is where efivarfs is mounted.
const DefaultVarsDir = "/sys/firmware/efi/efivars"

// LoaderVendorGUID is the vendor GUID of the Boot Loader Interface's
// variables (systemd-boot's).
const LoaderVendorGUID = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

// Boot Loader Interface variables.
const (
	// VarOneShot names the entry to boot next, once; systemd-boot deletes
	// it as it boots the entry.
	VarOneShot = "LoaderEntryOneShot"
)

// Attributes of the variables written: NON_VOLATILE | BOOTSERVICE_ACCESS |
// RUNTIME_ACCESS.
const (
	attrNonVolatile       = 0x1
	attrBootserviceAccess = 0x2
	attrRuntimeAccess     = 0x4
	varAttributes         = attrNonVolatile | attrBootserviceAccess | attrRuntimeAccess
)

// efivarfsMagic is efivarfs's f_type.
const efivarfsMagic = 0xde5e81e4

// fsImmutableFlag is FS_IMMUTABLE_FL of FS_IOC_GETFLAGS (linux/fs.h),
// which x/sys/unix does not define.
const fsImmutableFlag = 0x00000010

// Vars reads and writes Boot Loader Interface variables through efivarfs
// mounted on Dir (DefaultVarsDir), where each variable is a file named
// <name>-<vendor GUID> holding 4 bytes of attributes (little-endian) and
// then the value.
type Vars struct {
	Dir string
}

// Available reports whether the variables can be used: Dir exists and is
// a readable directory (efivarfs is mounted only on a UEFI boot).
func (v Vars) Available() bool {
	d, err := os.Open(v.Dir)
	if err != nil {
		return false
	}
	defer d.Close()
	_, err = d.Readdirnames(1)
	return err == nil || errors.Is(err, io.EOF)
}

// path is the file of the loader variable name.
func (v Vars) path(name string) string {
	return filepath.Join(v.Dir, name+"-"+LoaderVendorGUID)
}

// SetOneShot makes systemd-boot boot the entry (e.g. "plinth-b.conf") on
// the next boot only.
func (v Vars) SetOneShot(entry string) error {
	if entry == "" || strings.ContainsRune(entry, 0) {
		return fmt.Errorf("set %s: invalid entry name %q", VarOneShot, entry)
	}
	if err := v.write(VarOneShot, EncodeString(entry)); err != nil {
		return fmt.Errorf("set %s to %s: %w", VarOneShot, entry, err)
	}
	return nil
}

// ClearOneShot deletes the one-shot entry; none being set is no error.
func (v Vars) ClearOneShot() error {
	p := v.path(VarOneShot)
	if err := clearImmutable(p); errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("clear %s: %w", VarOneShot, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("clear %s: %w", VarOneShot, err)
	}
	return nil
}

// OneShot returns the one-shot entry; ok is false when none is set.
func (v Vars) OneShot() (entry string, ok bool, err error) {
	return v.readString(VarOneShot)
}

// readString reads a string variable.
func (v Vars) readString(name string) (string, bool, error) {
	b, err := os.ReadFile(v.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", name, err)
	}
	s, err := DecodeString(b)
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", name, err)
	}
	return s, true, nil
}

// write sets the variable name to b (attributes and value) in one
// write(2), as efivarfs requires. An existing variable's file is made
// mutable first. Outside efivarfs (tests), the file is truncated.
func (v Vars) write(name string, b []byte) error {
	p := v.path(name)
	if err := clearImmutable(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_CLOEXEC
	var st unix.Statfs_t
	if err := unix.Statfs(v.Dir, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", v.Dir, err)
	}
	if uint32(st.Type) != efivarfsMagic {
		flags |= unix.O_TRUNC
	}
	fd, err := unix.Open(p, flags, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	n, err := unix.Write(fd, b)
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if n != len(b) {
		return fmt.Errorf("write %s: wrote %d of %d bytes", p, n, len(b))
	}
	return nil
}

// clearImmutable removes the immutable attribute of the file at p, which
// efivarfs may set on variable files. File systems without attributes
// (ENOTTY, EOPNOTSUPP) have nothing to clear.
func clearImmutable(p string) error {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EOPNOTSUPP) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("FS_IOC_GETFLAGS %s: %w", p, err)
	}
	if flags&fsImmutableFlag == 0 {
		return nil
	}
	if err := unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags&^fsImmutableFlag)); err != nil {
		return fmt.Errorf("FS_IOC_SETFLAGS %s: %w", p, err)
	}
	return nil
}

// EncodeString is the efivarfs form of a string variable: the attributes
// (NON_VOLATILE|BOOTSERVICE_ACCESS|RUNTIME_ACCESS, 4 bytes little-endian),
// then s in UTF-16LE with a NUL terminator.
func EncodeString(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 4, 4+2*len(u)+2)
	binary.LittleEndian.PutUint32(b, varAttributes)
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, 0, 0)
}

// DecodeString reads the efivarfs form of a string variable (attributes,
// then UTF-16LE, up to a NUL terminator if any).
func DecodeString(b []byte) (string, error) {
	if len(b) < 4 {
		return "", fmt.Errorf("variable of %d bytes has no attributes", len(b))
	}
	data := b[4:]
	if len(data)%2 != 0 {
		return "", fmt.Errorf("UTF-16 value of odd length %d", len(data))
	}
	u := make([]uint16, 0, len(data)/2)
	for i := 0; i < len(data); i += 2 {
		c := binary.LittleEndian.Uint16(data[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u)), nil
}
