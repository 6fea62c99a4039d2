package fetch_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-os/plinth/internal/sys/fetch"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func fast() fetch.Options {
	return fetch.Options{
		Client:       &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		RetryInitial: time.Millisecond, RetryMax: 4 * time.Millisecond, Timeout: time.Second,
	}
}

func TestFetchRetriesUntilServed(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if hits.Add(1) < 3 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("machine: {}\n"))
	}))
	defer srv.Close()
	var failures []int
	opts := fast()
	opts.OnError = func(attempt int, err error, _ time.Duration) {
		if !strings.Contains(err.Error(), "503") {
			t.Errorf("attempt %d: %v", attempt, err)
		}
		failures = append(failures, attempt)
	}
	body, err := fetch.Fetch(context.Background(), srv.URL+"/worker.yaml", opts)
	if err != nil || string(body) != "machine: {}\n" {
		t.Fatalf("Fetch = %q, %v", body, err)
	}
	if len(failures) != 2 || failures[1] != 2 {
		t.Fatalf("failures %v", failures)
	}
}

func TestFetchGivesUp(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := fetch.Fetch(ctx, srv.URL, fast())
	if err == nil || !strings.Contains(err.Error(), "gave up") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Fetch = %v", err)
	}
}

func TestFetchTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat("x", 100)))
	}))
	defer srv.Close()
	opts := fast()
	opts.MaxSize = 10
	if _, err := fetch.Fetch(context.Background(), srv.URL, opts); !errors.Is(err, fetch.ErrTooLarge) {
		t.Fatalf("Fetch = %v, want ErrTooLarge", err)
	}
}

func TestFetchUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	var attempts atomic.Int32
	opts := fast()
	opts.OnError = func(int, error, time.Duration) { attempts.Add(1) }
	if _, err := fetch.Fetch(ctx, url, opts); err == nil {
		t.Fatal("Fetch from a closed server succeeded")
	}
	if attempts.Load() < 2 {
		t.Fatalf("%d attempts", attempts.Load())
	}
}
