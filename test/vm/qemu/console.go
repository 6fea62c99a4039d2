package qemu

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Line is one console line and when the host read it.
type Line struct {
	// Text is the line without its line ending.
	Text string
	// At is the host time the line arrived.
	At time.Time
}

// Console collects a VM's serial console lines.
type Console struct {
	mu      sync.Mutex
	lines   []Line
	changed chan struct{} // closed and replaced on every new line and at EOF
	closed  bool
}

func newConsole() *Console {
	return &Console{changed: make(chan struct{})}
}

// read consumes r until EOF.
func (c *Console) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		c.add(Line{Text: strings.TrimRight(sc.Text(), "\r"), At: time.Now()})
	}
	c.mu.Lock()
	c.closed = true
	close(c.changed)
	c.mu.Unlock()
}

func (c *Console) add(l Line) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, l)
	close(c.changed)
	c.changed = make(chan struct{})
}

// Lines returns a copy of the lines so far.
func (c *Console) Lines() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines...)
}

// String returns the console text so far.
func (c *Console) String() string {
	var b strings.Builder
	for _, l := range c.Lines() {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// WaitFor returns the first line (since the VM started) matching re. It
// fails when ctx ends or the console closes (QEMU exited) first.
func (c *Console) WaitFor(ctx context.Context, re *regexp.Regexp) (Line, error) {
	seen := 0
	for {
		c.mu.Lock()
		lines, changed, closed := c.lines[seen:], c.changed, c.closed
		c.mu.Unlock()
		for _, l := range lines {
			if re.MatchString(l.Text) {
				return l, nil
			}
		}
		seen += len(lines)
		if closed {
			return Line{}, fmt.Errorf("waiting for %q: %w", re, ErrExited)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Line{}, fmt.Errorf("waiting for %q: %w", re, ctx.Err())
		}
	}
}
