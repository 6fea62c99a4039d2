// Package fetch downloads a small document over HTTP(S), retrying with
// backoff: how a node gets its machine config from the kernel argument
// plinth.config=URL while its network is still coming up.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Defaults of Options.
const (
	DefaultRetryInitial = time.Second
	DefaultRetryMax     = 10 * time.Second
	DefaultTimeout      = 10 * time.Second
	DefaultMaxSize      = 4 << 20
)

// Options tune Fetch.
type Options struct {
	// Client makes the requests; http.DefaultClient when nil.
	Client *http.Client
	// RetryInitial and RetryMax bound the backoff between attempts.
	RetryInitial, RetryMax time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// MaxSize is the largest document accepted.
	MaxSize int64
	// OnError is told about every failed attempt (numbered from 1) and the
	// wait before the next one.
	OnError func(attempt int, err error, wait time.Duration)
}

// ErrTooLarge is wrapped by the error of a document over MaxSize.
var ErrTooLarge = errors.New("document too large")

// Fetch GETs url until it answers 200 OK, and returns the body. Every
// failure (no route, refused connection, a non-200 status, a cut body) is
// retried after a backoff, until ctx ends: then the last failure (not
// the cancellation) is returned. A document larger than MaxSize fails at once.
func Fetch(ctx context.Context, url string, opts Options) ([]byte, error) {
	opts.setDefaults()
	wait := opts.RetryInitial
	var last error // the last failure not caused by ctx ending
	for attempt := 1; ; attempt++ {
		body, err := get(ctx, url, opts)
		if err == nil || errors.Is(err, ErrTooLarge) {
			return body, err
		}
		if ctx.Err() != nil {
			if last == nil {
				last = err
			}
			return nil, fmt.Errorf("fetch %s: gave up after %d attempts: %w", url, attempt, last)
		}
		last = err
		if opts.OnError != nil {
			opts.OnError(attempt, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("fetch %s: gave up after %d attempts: %w", url, attempt, last)
		case <-t.C:
		}
		wait = min(wait*2, opts.RetryMax)
	}
}

func (o *Options) setDefaults() {
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.RetryInitial <= 0 {
		o.RetryInitial = DefaultRetryInitial
	}
	if o.RetryMax < o.RetryInitial {
		o.RetryMax = max(DefaultRetryMax, o.RetryInitial)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
}

func get(ctx context.Context, url string, opts Options) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	resp, err := opts.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, opts.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: read: %w", url, err)
	}
	if int64(len(body)) > opts.MaxSize {
		return nil, fmt.Errorf("fetch %s: %w (over %d bytes)", url, ErrTooLarge, opts.MaxSize)
	}
	return body, nil
}
