package imager

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunStepIsIncremental(t *testing.T) {
	out := t.TempDir()
	b := &builder{cfg: Config{Out: out}, now: time.Now}
	target := filepath.Join(out, "artifact")
	runs := 0
	s := step{name: "thing", key: "k1", outputs: []string{target}, run: func() error {
		runs++
		return os.WriteFile(target, []byte("x"), 0o644)
	}}
	for i, want := range []bool{true, false} {
		ran, err := b.runStep(s)
		if err != nil || ran != want {
			t.Fatalf("run %d: ran=%v err=%v, want ran=%v", i, ran, err, want)
		}
	}
	s.key = "k2"
	if ran, _ := b.runStep(s); !ran {
		t.Error("a changed key did not rerun the step")
	}
	_ = os.Remove(target)
	if ran, _ := b.runStep(s); !ran {
		t.Error("a missing output did not rerun the step")
	}
	b.cfg.Force = true
	if ran, _ := b.runStep(s); !ran {
		t.Error("Force did not rerun the step")
	}
	if runs != 4 {
		t.Errorf("ran %d times, want 4", runs)
	}
}

func TestFailedStepRunsAgain(t *testing.T) {
	out := t.TempDir()
	b := &builder{cfg: Config{Out: out}, now: time.Now}
	fail := true
	s := step{name: "flaky", key: "k", run: func() error {
		if fail {
			return errors.New("boom")
		}
		return nil
	}}
	if _, err := b.runStep(s); err == nil || !strings.Contains(err.Error(), "flaky: boom") {
		t.Fatalf("got %v", err)
	}
	fail = false
	if ran, err := b.runStep(s); !ran || err != nil {
		t.Fatalf("after a failure: ran=%v err=%v", ran, err)
	}
}

func TestOSRelease(t *testing.T) {
	got := string(osRelease("v0.1.0"))
	for _, want := range []string{"ID=plinth\n", "VERSION_ID=\"v0.1.0\"\n", "PRETTY_NAME=\"Plinth v0.1.0\"\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("os-release lacks %q:\n%s", want, got)
		}
	}
}
