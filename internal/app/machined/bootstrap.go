package machined

import (
	"context"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/etcd"
)

// bootstrap accepts or refuses the Bootstrap call: see etcd.Bootstrap. The
// decision is written to STATE and to the EtcdBootstrap resource, which
// starts etcd with a new cluster.
func (m *machined) bootstrap(ctx context.Context) error {
	return etcd.Bootstrap(ctx, m.state, m.opts.Root, time.Now)
}
