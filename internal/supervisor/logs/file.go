package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultMaxFileSize is the size at which a service's log file is rotated
// when none is configured: 10 MiB.
const DefaultMaxFileSize = 10 << 20

// dirRecheck bounds how often a missing log directory is looked for again.
const dirRecheck = time.Second

// rotatingFile appends to <dir>/<name>.log while dir exists, and moves the
// file to <name>.log.1 (replacing the previous one) when it would grow past
// max bytes. The directory is looked up lazily, so a log directory mounted
// after the service started is picked up.
type rotatingFile struct {
	mu        sync.Mutex
	dir, name string
	max       int64
	f         *os.File
	size      int64
	lastCheck time.Time
}

func (rf *rotatingFile) path() string {
	return filepath.Join(rf.dir, rf.name+".log")
}

// Write appends p to the file, rotating first when needed. It returns nil
// without writing when the directory does not exist.
func (rf *rotatingFile) Write(p []byte) error {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	if rf.f == nil {
		opened, err := rf.openLocked()
		if !opened || err != nil {
			return err
		}
	}
	if rf.size > 0 && rf.size+int64(len(p)) > rf.max {
		if err := rf.rotateLocked(); err != nil {
			return err
		}
	}
	n, err := rf.f.Write(p)
	rf.size += int64(n)
	if err != nil {
		return fmt.Errorf("append to %s: %w", rf.path(), err)
	}
	return nil
}

// openLocked opens the log file if the directory exists; it reports whether
// the file is open.
func (rf *rotatingFile) openLocked() (bool, error) {
	now := time.Now()
	if !rf.lastCheck.IsZero() && now.Sub(rf.lastCheck) < dirRecheck {
		return false, nil
	}
	rf.lastCheck = now
	if st, err := os.Stat(rf.dir); err != nil || !st.IsDir() {
		return false, nil
	}
	f, err := os.OpenFile(rf.path(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return false, fmt.Errorf("open service log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return false, fmt.Errorf("stat service log: %w", err)
	}
	rf.f, rf.size = f, st.Size()
	return true, nil
}

func (rf *rotatingFile) rotateLocked() error {
	if err := rf.f.Close(); err != nil {
		return fmt.Errorf("close %s for rotation: %w", rf.path(), err)
	}
	rf.f = nil
	if err := os.Rename(rf.path(), rf.path()+".1"); err != nil {
		return fmt.Errorf("rotate %s: %w", rf.path(), err)
	}
	f, err := os.OpenFile(rf.path(), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("reopen %s after rotation: %w", rf.path(), err)
	}
	rf.f, rf.size = f, 0
	return nil
}

// Close closes the file if it is open.
func (rf *rotatingFile) Close() error {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	if rf.f == nil {
		return nil
	}
	err := rf.f.Close()
	rf.f = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", rf.path(), err)
	}
	return nil
}
