package install

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWaitHealthyPasses(t *testing.T) {
	n := 0
	checks := []Check{
		{Name: "apid", Probe: func(context.Context) error { return nil }},
		{Name: "kubelet", Probe: func(context.Context) error {
			n++
			if n < 3 {
				return errors.New("not ready")
			}
			return nil
		}},
	}
	if err := WaitHealthy(context.Background(), checks, time.Now().Add(5*time.Second), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("kubelet probed %d times, want 3", n)
	}
}

func TestWaitHealthyNamesWhatFailed(t *testing.T) {
	checks := []Check{
		{Name: "apid", Probe: func(context.Context) error { return nil }},
		{Name: "kubelet", Probe: func(context.Context) error { return errors.New("node n1 is not Ready") }},
	}
	err := WaitHealthy(context.Background(), checks, time.Now().Add(20*time.Millisecond), time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "kubelet: node n1 is not Ready") || strings.Contains(err.Error(), "apid") {
		t.Fatalf("err %v", err)
	}
}
