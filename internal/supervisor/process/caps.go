package process

import (
	"fmt"
	"strings"
)

// Capability is a Linux capability number (CAP_CHOWN is 0).
type Capability uint8

// capNames lists the capabilities the Linux UAPI defines, by number.
var capNames = [...]string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
	"SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
	"NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
	"SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
	"SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
	"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// String returns the capability's name, such as "CAP_SYS_ADMIN".
func (c Capability) String() string {
	if int(c) < len(capNames) {
		return "CAP_" + capNames[c]
	}
	return fmt.Sprintf("CAP_%d", c)
}

// ParseCapability parses a capability name, case-insensitively and with or
// without its "CAP_" prefix.
func ParseCapability(name string) (Capability, error) {
	short := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(name)), "CAP_")
	for i, n := range capNames {
		if n == short {
			return Capability(i), nil
		}
	}
	return 0, fmt.Errorf("unknown capability %q", name)
}

// capMask turns a list of capabilities into a bit mask.
func capMask(caps []Capability) uint64 {
	var m uint64
	for _, c := range caps {
		if c < 64 {
			m |= 1 << c
		}
	}
	return m
}
