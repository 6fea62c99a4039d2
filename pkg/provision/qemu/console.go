package qemu

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// initStarted is init's first console line, with the kernel's uptime
// (docs/image.md); it marks every boot.
var initStarted = regexp.MustCompile(`plinth-init: started at uptime ([0-9.]+)s`)

// terminalControl matches the terminal control sequences UEFI firmware
// writes to the serial console (clear screen, cursor moves, modes).
var terminalControl = regexp.MustCompile(`\x1b\[[0-9;=?]*[A-Za-z]`)

// bootSeen is called for every boot seen on a console: when init's first
// line arrived and the kernel uptime it printed.
type bootSeen func(arrived time.Time, uptime time.Duration)

// copyConsole copies a VM's serial console from r to w line by line (the
// carriage returns of the serial line and terminal control sequences
// removed) until r ends, and reports
// each boot. Write errors stop the copy but not the reading, so QEMU
// never blocks on a full pipe.
func copyConsole(r io.Reader, w io.Writer, now func() time.Time, onBoot bootSeen) {
	br := bufio.NewReaderSize(r, 64*1024)
	writing := true
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			text := strings.TrimRight(line, "\r\n")
			if strings.IndexByte(text, 0x1b) >= 0 {
				text = terminalControl.ReplaceAllString(text, "")
			}
			if writing {
				if _, werr := io.WriteString(w, text+"\n"); werr != nil {
					writing = false
				}
			}
			if m := initStarted.FindStringSubmatch(text); m != nil && onBoot != nil {
				secs, _ := strconv.ParseFloat(m[1], 64)
				onBoot(now(), time.Duration(secs*float64(time.Second)))
			}
		}
		if err != nil {
			return
		}
	}
}

// tailLines returns the last n lines of text.
func tailLines(text string, n int) string {
	text = strings.TrimRight(text, "\n")
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
