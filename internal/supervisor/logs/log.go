package logs

import (
	"context"
	"log/slog"
	"sync"
)

// Options configure a service Log. The zero value keeps DefaultSize bytes
// in memory and writes no file.
type Options struct {
	// Size is the ring capacity in bytes; DefaultSize when zero.
	Size int
	// Dir, when set, is the directory of <Dir>/<name>.log. Nothing is
	// written to disk while the directory does not exist.
	Dir string
	// MaxFileSize rotates the file once it would grow past it;
	// DefaultMaxFileSize when zero.
	MaxFileSize int64
	// Logger reports file errors (once per Log); slog.Default when nil.
	Logger *slog.Logger
}

// Log is the output of one service: a Ring, mirrored to a rotated file when
// Options.Dir is set. It is an io.Writer safe for concurrent use.
type Log struct {
	ring   *Ring
	file   *rotatingFile
	logger *slog.Logger

	errOnce sync.Once
}

// New returns the log of the service called name.
func New(name string, opts Options) *Log {
	l := &Log{ring: NewRing(opts.Size), logger: opts.Logger}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	if opts.Dir != "" {
		limit := opts.MaxFileSize
		if limit <= 0 {
			limit = DefaultMaxFileSize
		}
		l.file = &rotatingFile{dir: opts.Dir, name: name, max: limit}
	}
	return l
}

// Write appends p to the ring and the file. File errors never fail the
// write: the in-memory log is what the API serves, so a full or broken disk
// must not stop a service. The first such error is logged.
func (l *Log) Write(p []byte) (int, error) {
	n, _ := l.ring.Write(p)
	if l.file != nil {
		if err := l.file.Write(p); err != nil {
			l.errOnce.Do(func() {
				l.logger.Warn("service log file write failed", "error", err)
			})
		}
	}
	return n, nil
}

// Tail returns the last n lines held in memory (all of them when n < 0).
func (l *Log) Tail(n int) []byte { return l.ring.Tail(n) }

// Follow returns a reader of the last tail lines followed by new output,
// until ctx is done. See Ring.Follow.
func (l *Log) Follow(ctx context.Context, tail int) *Reader {
	return l.ring.Follow(ctx, tail)
}

// Close ends every follower and closes the file.
func (l *Log) Close() error {
	_ = l.ring.Close()
	if l.file != nil {
		return l.file.Close()
	}
	return nil
}
