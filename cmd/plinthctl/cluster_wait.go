package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/pkg/machinery/client"
	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
)

// clusterPollInterval is how often `cluster create` asks whether every
// node's API answers; tests shorten it.
var clusterPollInterval = 250 * time.Millisecond

// clusterAttemptTimeout bounds one such question.
const clusterAttemptTimeout = 5 * time.Second

// waitForAPIs waits until every node answers Version over mutual TLS
// through the context's endpoint (apid fans the call out to the nodes),
// and reports each node the first time it answers.
func waitForAPIs(ctx context.Context, cc *clientconfig.Context, nodes []string, report func(node string)) error {
	c, err := client.New(ctx, client.WithContext(cc))
	if err != nil {
		return err
	}
	defer c.Close()
	seen := map[string]bool{}
	var last error
	for {
		c.ResetConnectBackoff()
		actx, cancel := context.WithTimeout(ctx, clusterAttemptTimeout)
		missing, err := versionRound(actx, c, nodes, seen, report)
		cancel()
		if err == nil && len(missing) == 0 {
			return nil
		}
		switch {
		case last != nil && ended(ctx):
			// This round was cut short by the deadline: the previous
			// round's error says more.
		case err != nil:
			last = err
		default:
			last = fmt.Errorf("no answer yet from %s", strings.Join(missing, ", "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nodes' APIs over mutual TLS through %s: %w (last: %v)", strings.Join(cc.Endpoints, ", "), ctx.Err(), apiError{last})
		case <-time.After(clusterPollInterval):
		}
	}
}

// versionRound asks every node for its version once and returns those
// that have not answered yet.
func versionRound(ctx context.Context, c *client.Client, nodes []string, seen map[string]bool, report func(string)) ([]string, error) {
	resp, err := c.Machine.Version(client.WithNodes(ctx, nodes...), &emptypb.Empty{})
	if err != nil {
		return nil, err
	}
	ok, failed := client.Items(resp.GetMessages())
	for _, item := range ok {
		node := item.GetMetadata().GetNode()
		if node == "" || item.GetMaintenance() || seen[node] {
			continue
		}
		seen[node] = true
		report(node)
	}
	var missing []string
	for _, n := range nodes {
		if !seen[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 && len(failed) > 0 {
		return missing, fmt.Errorf("%s", failed[0].Error())
	}
	slices.Sort(missing)
	return missing, nil
}

// ended reports whether ctx is done or past its deadline (a call can fail
// on the deadline a moment before ctx itself says so).
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}
