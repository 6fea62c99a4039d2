package client

import (
	"context"
	"fmt"

	clientconfig "github.com/plinth-os/plinth/pkg/machinery/client/config"
)

// FromFlags builds a client the way plinthctl's global flags ask: it
// resolves the client config (path from --plinthconfig, else
// $PLINTHCONFIG, else ~/.plinth/config), selects its context (contextName
// from --context, else the current one), lets endpoints (-e) override the
// context's endpoints and returns the nodes to target: nodes (-n) if given,
// else the context's nodes. No nodes means the endpoint itself. More
// options (such as WithDialOptions) are applied last.
func FromFlags(ctx context.Context, path, contextName string, endpoints, nodes []string, opts ...Option) (*Client, []string, error) {
	_, cfg, err := clientconfig.Resolve(path, contextName)
	if err != nil {
		return nil, nil, err
	}
	cur, err := cfg.Current("")
	if err != nil {
		return nil, nil, err
	}
	all := []Option{WithContext(cur)}
	if len(endpoints) > 0 {
		all = append(all, WithEndpoints(endpoints...))
	}
	c, err := New(ctx, append(all, opts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("context %q: %w", cfg.SelectedName(""), err)
	}
	if len(nodes) == 0 {
		nodes = cur.Nodes
	}
	return c, append([]string(nil), nodes...), nil
}
