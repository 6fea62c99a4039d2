package supervisor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWaitForFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ready")
	cond := WaitForFile(path)
	if got := cond.String(); got != "file "+path+" to exist" {
		t.Errorf("String() = %q", got)
	}
	done := make(chan error, 1)
	go func() { done <- cond.Wait(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v before the file existed", err)
	default:
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Wait did not see the file")
	}
}

func TestConditionsEndWithContextAndErrors(t *testing.T) {
	boom := errors.New("boom")
	never := WaitForFunc("never", func(context.Context) (bool, error) { return false, nil })
	failing := WaitForFunc("address 10.0.0.1", func(context.Context) (bool, error) { return false, boom })
	met := WaitForFunc("met", func(context.Context) (bool, error) { return true, nil })
	tests := []struct {
		name    string
		cond    Condition
		cancel  bool
		wantErr error
		desc    string
	}{
		{"met", met, false, nil, "met"},
		{"cancelled", never, true, context.Canceled, "never"},
		{"check error", failing, false, boom, "address 10.0.0.1"},
		{"all met", WaitForAll(met, nil, met), false, nil, "met and met"},
		{"all stops at first error", WaitForAll(met, failing, never), false, boom, "met and address 10.0.0.1 and never"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if tt.cancel {
				cancel()
			}
			if err := tt.cond.Wait(ctx); !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Wait = %v, want %v", err, tt.wantErr)
			}
			if got := tt.cond.String(); got != tt.desc {
				t.Errorf("String() = %q, want %q", got, tt.desc)
			}
		})
	}
}
