package install

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// DefaultHealthTimeout bounds a trial boot's health gate when the upgrade
// request names none.
const DefaultHealthTimeout = 5 * time.Minute

// Check is one condition of the health gate: Probe returns nil when it
// holds.
type Check struct {
	Name  string
	Probe func(ctx context.Context) error
}

// WaitHealthy polls the checks every interval until all of them pass in
// the same round, and returns nil; or, at the deadline (or when ctx ends),
// an error naming every check that had not passed with its last error.
// Checks that passed once are not asked again.
func WaitHealthy(ctx context.Context, checks []Check, deadline time.Time, interval time.Duration) error {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	last := map[string]error{}
	pending := append([]Check(nil), checks...)
	for {
		var still []Check
		for _, c := range pending {
			pctx, pcancel := context.WithTimeout(ctx, interval+10*time.Second)
			err := c.Probe(pctx)
			pcancel()
			if err != nil {
				last[c.Name] = err
				still = append(still, c)
			}
		}
		pending = still
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			var why []string
			for _, c := range pending {
				why = append(why, fmt.Sprintf("%s: %v", c.Name, last[c.Name]))
			}
			return fmt.Errorf("not healthy within the health gate (%s): %s", ctx.Err(), strings.Join(why, "; "))
		case <-time.After(interval):
		}
	}
}
