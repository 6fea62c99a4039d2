package kmsg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"
)

// fakeSource replays scripted reads: each step is a record or an error.
// When the script runs out it returns EAGAIN; Wait then reports on waiting
// and blocks until more steps are pushed on more, or ctx is done.
type fakeSource struct {
	steps   []step
	more    chan []step
	waiting chan struct{}
	seeked  bool
	closed  bool
}

type step struct {
	rec string
	err error
}

func newFake(steps ...step) *fakeSource {
	return &fakeSource{steps: steps, more: make(chan []step), waiting: make(chan struct{}, 1)}
}

func (f *fakeSource) Read(p []byte) (int, error) {
	if len(f.steps) == 0 {
		return 0, fmt.Errorf("read: %w", syscall.EAGAIN)
	}
	s := f.steps[0]
	f.steps = f.steps[1:]
	if s.err != nil {
		return 0, s.err
	}
	return copy(p, s.rec), nil
}

func (f *fakeSource) SeekEnd() error {
	f.seeked = true
	f.steps = nil
	return nil
}

func (f *fakeSource) Wait(ctx context.Context) error {
	select {
	case f.waiting <- struct{}{}:
	default:
	}
	select {
	case s := <-f.more:
		f.steps = append(f.steps, s...)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeSource) Close() error {
	f.closed = true
	return nil
}

func (f *fakeSource) opener(wantPath string) Opener {
	return func(path string) (Source, error) {
		if path != wantPath {
			return nil, fmt.Errorf("opened %q, want %q", path, wantPath)
		}
		return f, nil
	}
}

func collect(lines *[]string) func([]byte) error {
	return func(line []byte) error {
		*lines = append(*lines, string(line))
		return nil
	}
}

func TestReadOnce(t *testing.T) {
	src := newFake(
		step{rec: "6,1,1000000,-;one\n"},
		step{err: syscall.EPIPE},
		step{rec: "5,3,2000000,-;three\n KEY=v\n"},
		step{rec: "garbage without header\nsecond line"},
	)
	var lines []string
	err := Reader{Open: src.opener("/fake/kmsg")}.Read(context.Background(), "/fake/kmsg", false, false, collect(&lines))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"[    1.000000] kern.info: one\n",
		"[    2.000000] kern.notice: three\n",
		"garbage without header\n",
	}
	if strings.Join(lines, "") != strings.Join(want, "") {
		t.Errorf("got %q, want %q", lines, want)
	}
	if !src.closed || src.seeked {
		t.Errorf("closed=%v seeked=%v, want closed and not seeked", src.closed, src.seeked)
	}
}

func TestReadTailWithoutFollowReturnsNothing(t *testing.T) {
	src := newFake(step{rec: "6,1,1,-;old\n"})
	var lines []string
	if err := (Reader{Open: src.opener("k")}).Read(context.Background(), "k", false, true, collect(&lines)); err != nil {
		t.Fatal(err)
	}
	if !src.seeked || len(lines) != 0 {
		t.Errorf("seeked=%v lines=%q, want a seek and no lines", src.seeked, lines)
	}
}

func TestReadFollow(t *testing.T) {
	src := newFake(step{rec: "6,1,1,-;old\n"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 4)
	done := make(chan error, 1)
	go func() {
		done <- Reader{Open: src.opener("k")}.Read(ctx, "k", true, true, func(line []byte) error {
			got <- string(line)
			return nil
		})
	}()
	<-src.waiting // the old record was skipped by the tail seek
	src.more <- []step{{rec: "6,2,2,-;new\n"}, {err: syscall.EPIPE}, {rec: "6,4,4,-;newer\n"}}
	for _, want := range []string{"[    0.000002] kern.info: new\n", "[    0.000004] kern.info: newer\n"} {
		if line := <-got; line != want {
			t.Errorf("got %q, want %q", line, want)
		}
	}
	<-src.waiting
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: err = %v, want context.Canceled", err)
	}
	if !src.closed {
		t.Error("source not closed")
	}
}

func TestReadErrors(t *testing.T) {
	stop := errors.New("client gone")
	tests := []struct {
		name   string
		open   Opener
		emit   func([]byte) error
		want   error
		substr string
	}{
		{
			name:   "permission denied",
			open:   func(p string) (Source, error) { return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.EACCES} },
			want:   ErrUnavailable,
			substr: "dmesg: /dev/kmsg is not readable here (permission denied): the kernel log is unavailable",
		},
		{
			name:   "missing device",
			open:   func(p string) (Source, error) { return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.ENOENT} },
			want:   fs.ErrNotExist,
			substr: "(no such file or directory)",
		},
		{
			name:   "read error",
			open:   newFake(step{err: syscall.EIO}).opener(DevicePath),
			want:   syscall.EIO,
			substr: "dmesg: read /dev/kmsg",
		},
		{
			name: "emit error",
			open: newFake(step{rec: "6,1,1,-;x"}).opener(DevicePath),
			emit: func([]byte) error { return stop },
			want: stop,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emit := tt.emit
			if emit == nil {
				emit = func([]byte) error { return nil }
			}
			err := Reader{Open: tt.open}.Read(context.Background(), DevicePath, false, false, emit)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want one matching %v", err, tt.want)
			}
			if !strings.Contains(fmt.Sprint(err), tt.substr) {
				t.Errorf("err = %q, want it to contain %q", err, tt.substr)
			}
		})
	}
}

func TestReadCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := newFake(step{rec: "6,1,1,-;x"})
	err := Reader{Open: src.opener("k")}.Read(ctx, "k", true, false, func([]byte) error {
		t.Error("emitted after cancel")
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestReadDevice reads the first record of this host's /dev/kmsg when it
// can be opened.
func TestReadDevice(t *testing.T) {
	src, err := OpenDevice(DevicePath)
	if err != nil {
		t.Skipf("skipping the real read: %v", &UnavailableError{Path: DevicePath, Err: err})
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	errEnough := errors.New("enough")
	var lines []string
	err = Read(context.Background(), DevicePath, false, false, func(line []byte) error {
		lines = append(lines, string(line))
		if len(lines) == 3 {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		t.Fatal(err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "[") || !strings.HasSuffix(l, "\n") || !strings.Contains(l, "] ") {
			t.Errorf("line %q is not formatted as [time] facility.level: message", l)
		}
	}
	t.Logf("read %d lines, first %q", len(lines), lines)
}

// waitSpy reports when the real device's Wait starts polling.
type waitSpy struct {
	Source
	waiting chan<- struct{}
}

func (w waitSpy) Wait(ctx context.Context) error {
	select {
	case w.waiting <- struct{}{}:
	default:
	}
	return w.Source.Wait(ctx)
}

// TestReadDeviceFollowCancel follows this host's /dev/kmsg from its end and
// stops once the context is cancelled while the reader polls.
func TestReadDeviceFollowCancel(t *testing.T) {
	probe, err := OpenDevice(DevicePath)
	if err != nil {
		t.Skipf("skipping the real read: %v", err)
	}
	probe.Close() //nolint:errcheck // probe only
	waiting := make(chan struct{}, 1)
	open := func(path string) (Source, error) {
		src, err := OpenDevice(path)
		if err != nil {
			return nil, err
		}
		return waitSpy{Source: src, waiting: waiting}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Reader{Open: open}.Read(ctx, DevicePath, true, true, func([]byte) error { return nil })
	}()
	<-waiting
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestOpenDeviceMissing(t *testing.T) {
	_, err := OpenDevice(t.TempDir() + "/kmsg")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want not-exist", err)
	}
}
