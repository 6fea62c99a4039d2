package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/plinth-os/plinth/internal/supervisor/reaper"
)

// runHelper runs the runner with a reaper in a process that is a child
// subreaper, as machined is when it is PID 1.
func runHelper(scenario string) error {
	if err := reaper.SetSubreaper(); err != nil {
		return err
	}
	r := reaper.New(quiet)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Run(ctx) }()

	switch scenario {
	case "reaped-status":
		opts := shell("exit 7")
		opts.Reaper = r
		err := New(opts).Run(context.Background(), &output{}, nil)
		var exitErr *ExitError
		if !errors.As(err, &exitErr) || exitErr.Code != 7 {
			return fmt.Errorf("Run = %v, want exit status 7 through the reaper", err)
		}
		return nil
	case "reaped-orphans":
		// setsid moves the grandchild out of the service's process group,
		// so only the reaper can collect it once it is orphaned.
		opts := shell("setsid /bin/sleep 0.2 & echo started")
		opts.Reaper = r
		if err := New(opts).Run(context.Background(), &output{}, nil); err != nil {
			return fmt.Errorf("Run: %w", err)
		}
		return waitNoChildren()
	}
	return fmt.Errorf("unknown scenario %q", scenario)
}

// waitNoChildren waits until this process has no children left, zombies
// included.
func waitNoChildren() error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		kids, err := children()
		if err != nil || len(kids) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("children never reaped: %v", kids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// children lists the PIDs (and states) whose parent is this process.
func children() ([]string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var kids []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			kids = append(kids, e.Name()+":"+fields[0])
		}
	}
	return kids, nil
}
