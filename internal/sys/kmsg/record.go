// Package kmsg reads the kernel log from /dev/kmsg for machined's Dmesg RPC
// and formats each record as one dmesg-style line:
//
//	[   12.345678] kern.info: message
//
// ParseRecord and Format are pure; Read does the I/O through an injectable
// Opener so it is tested against fake sources.
package kmsg

import (
	"bytes"
	"fmt"
	"strconv"
)

// Record is one parsed /dev/kmsg record.
type Record struct {
	// Facility is the syslog facility (prio >> 3); 0 is the kernel.
	Facility int
	// Level is the syslog severity (prio & 7); 0 is emerg, 7 debug.
	Level int
	// Seq is the record's sequence number.
	Seq uint64
	// Micros is the time of the record in microseconds since boot.
	Micros uint64
	// Message is the text, without the trailing newline and the
	// continuation (key=value) lines.
	Message string
}

// facilityNames are the syslog facility names of <syslog.h>, by number;
// 12 to 15 have no name there.
var facilityNames = [...]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "", "", "", "",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// levelNames are the syslog severity names, by number.
var levelNames = [...]string{"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"}

// FacilityName returns the syslog name of facility f, such as "kern", or
// "facility<f>" when it has none.
func FacilityName(f int) string {
	if f >= 0 && f < len(facilityNames) && facilityNames[f] != "" {
		return facilityNames[f]
	}
	return "facility" + strconv.Itoa(f)
}

// LevelName returns the syslog name of level l, such as "info".
func LevelName(l int) string {
	if l >= 0 && l < len(levelNames) {
		return levelNames[l]
	}
	return "level" + strconv.Itoa(l)
}

// ParseRecord parses one record as read from /dev/kmsg:
//
//	prio,seq,usec,flags[,more];message\n[ KEY=value\n]...
//
// Fields after flags (newer kernels add a caller id) are ignored, as are the
// continuation lines, which start with a space.
func ParseRecord(rec []byte) (Record, error) {
	header, rest, ok := bytes.Cut(rec, []byte{';'})
	if !ok {
		return Record{}, fmt.Errorf("kmsg record %q: no ';' after the header", clip(rec))
	}
	fields := bytes.Split(header, []byte{','})
	if len(fields) < 4 {
		return Record{}, fmt.Errorf("kmsg record %q: header has %d fields, want prio,seq,usec,flags", clip(rec), len(fields))
	}
	prio, err := strconv.ParseUint(string(fields[0]), 10, 16)
	if err != nil {
		return Record{}, fmt.Errorf("kmsg record %q: priority: %w", clip(rec), err)
	}
	seq, err := strconv.ParseUint(string(fields[1]), 10, 64)
	if err != nil {
		return Record{}, fmt.Errorf("kmsg record %q: sequence: %w", clip(rec), err)
	}
	usec, err := strconv.ParseUint(string(fields[2]), 10, 64)
	if err != nil {
		return Record{}, fmt.Errorf("kmsg record %q: timestamp: %w", clip(rec), err)
	}
	msg, _, _ := bytes.Cut(rest, []byte{'\n'})
	return Record{
		Facility: int(prio >> 3),
		Level:    int(prio & 7),
		Seq:      seq,
		Micros:   usec,
		Message:  string(msg),
	}, nil
}

// Format renders r as one line, "[  seconds.micros] facility.level: message\n",
// with the seconds padded to five columns as dmesg(1) does.
func Format(r Record) []byte {
	return fmt.Appendf(nil, "[%5d.%06d] %s.%s: %s\n",
		r.Micros/1e6, r.Micros%1e6, FacilityName(r.Facility), LevelName(r.Level), r.Message)
}

// FormatRecord parses a raw record and formats it (see ParseRecord, Format).
func FormatRecord(rec []byte) ([]byte, error) {
	r, err := ParseRecord(rec)
	if err != nil {
		return nil, err
	}
	return Format(r), nil
}

// clip shortens a record for an error message.
func clip(b []byte) []byte {
	const maxLen = 64
	if len(b) > maxLen {
		return b[:maxLen]
	}
	return b
}
