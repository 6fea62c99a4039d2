package initapp

import (
	"fmt"
	"time"
)

// Prefix starts every console line init prints; the VM tests parse them.
const Prefix = "plinth-init: "

// Timeline records the steps of boot with their durations, measured on the
// boot clock (time since the kernel started).
type Timeline struct {
	uptime func() time.Duration
	start  time.Duration
	last   time.Duration
	print  func(line string)
}

// NewTimeline starts a timeline now and prints its first line.
func NewTimeline(uptime func() time.Duration, print func(string), version string) *Timeline {
	t := &Timeline{uptime: uptime, print: print}
	t.start = uptime()
	t.last = t.start
	print(fmt.Sprintf("%sstarted at uptime %s (plinth %s)", Prefix, seconds(t.start), version))
	return t
}

// Step prints the step that just ended, its duration and a detail.
func (t *Timeline) Step(name, detail string) {
	now := t.uptime()
	line := fmt.Sprintf("%s%-12s %7s", Prefix, name, millis(now-t.last))
	if detail != "" {
		line += "  " + detail
	}
	t.print(line)
	t.last = now
}

// Exec prints the last line before init executes path.
func (t *Timeline) Exec(path string) {
	now := t.uptime()
	t.print(fmt.Sprintf("%sexec %s at uptime %s after %s in init", Prefix, path, seconds(now), millis(now-t.start)))
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3fs", d.Seconds()) }

func millis(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }
