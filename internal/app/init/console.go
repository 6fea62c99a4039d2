package initapp

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// console prints init's lines on the kernel console (init's stdout is
// /dev/console) and, once /dev is mounted, into the kernel log (/dev/kmsg)
// so `plinthctl dmesg` shows them after boot.
type console struct {
	mu   sync.Mutex
	kmsg *os.File
}

func newConsole() *console { return &console{} }

func (c *console) println(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintln(os.Stdout, line)
	if c.kmsg == nil {
		if f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0); err == nil {
			c.kmsg = f
		}
	}
	if c.kmsg != nil {
		// Level 6 (info): not echoed on a "quiet" console.
		_, _ = fmt.Fprintf(c.kmsg, "<6>%s\n", strings.TrimSpace(line))
	}
}
