//go:build linux

package ntp

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// SystemClock is the kernel's CLOCK_REALTIME. Changing it needs
// CAP_SYS_TIME; machined never uses it in container mode.
type SystemClock struct{}

// Step sets the clock to now plus offset.
func (SystemClock) Step(offset time.Duration) error {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &ts); err != nil {
		return fmt.Errorf("step clock: read: %w", err)
	}
	t := time.Unix(ts.Sec, ts.Nsec).Add(offset)
	ts = unix.NsecToTimespec(t.UnixNano())
	if err := unix.ClockSettime(unix.CLOCK_REALTIME, &ts); err != nil {
		return fmt.Errorf("step clock by %v: %w", offset, err)
	}
	return nil
}

// Slew hands offset (in nanoseconds) to the kernel's phase-locked loop,
// marking the clock synchronised.
func (SystemClock) Slew(offset time.Duration) error {
	tx := unix.Timex{
		Modes:  unix.ADJ_OFFSET | unix.ADJ_NANO | unix.ADJ_STATUS | unix.ADJ_MAXERROR | unix.ADJ_ESTERROR,
		Offset: offset.Nanoseconds(),
		Status: unix.STA_PLL | unix.STA_NANO,
	}
	if _, err := unix.Adjtimex(&tx); err != nil {
		return fmt.Errorf("slew clock by %v: %w", offset, err)
	}
	return nil
}
