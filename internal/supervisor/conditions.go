package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ErrSkip, returned (or wrapped) by a Condition or by Service.Runner, moves
// the service to Skipped instead of Failed: it is not needed on this node.
var ErrSkip = errors.New("service skipped")

// pollInterval is how often polling conditions look again.
const pollInterval = 100 * time.Millisecond

// WaitForFile is met once path exists.
func WaitForFile(path string) Condition {
	return WaitForFunc("file "+path+" to exist", func(context.Context) (bool, error) {
		_, err := os.Stat(path)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, os.ErrNotExist):
			return false, nil
		}
		return false, err
	})
}

// WaitForFunc is met once check returns true; an error from check ends the
// wait with that error. check is polled; desc completes "waiting for ...".
// machined wraps checks such as "resource reaches a phase" with it.
func WaitForFunc(desc string, check func(ctx context.Context) (bool, error)) Condition {
	return funcCondition{desc: desc, check: check}
}

type funcCondition struct {
	desc  string
	check func(context.Context) (bool, error)
}

func (c funcCondition) String() string { return c.desc }

func (c funcCondition) Wait(ctx context.Context) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		ok, err := c.check(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", c.desc, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// WaitForAll is met once every one of conds is; nil entries are ignored.
func WaitForAll(conds ...Condition) Condition {
	var all allCondition
	for _, c := range conds {
		if c != nil {
			all = append(all, c)
		}
	}
	return all
}

type allCondition []Condition

func (a allCondition) String() string {
	parts := make([]string, len(a))
	for i, c := range a {
		parts[i] = c.String()
	}
	return strings.Join(parts, " and ")
}

func (a allCondition) Wait(ctx context.Context) error {
	for _, c := range a {
		if err := c.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}
