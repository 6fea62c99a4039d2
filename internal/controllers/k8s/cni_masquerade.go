package k8s

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
)

// PodMasquerader installs the node's pod-egress masquerade.
type PodMasquerader interface {
	// Apply makes traffic from the pod subnets to addresses outside them
	// (multicast excepted) leave with the node's address, replacing what
	// an earlier Apply installed.
	Apply(podSubnets []netip.Prefix) error
	// Remove deletes what Apply installed.
	Remove() error
}

// MasqueradeController masquerades the traffic of pods that leaves the pod
// network (to the node's network, the host, the outside), as flannel's
// --ip-masq would: the flannel image has no iptables, and the bridge
// plugin's ipMasq would also rewrite pod-to-pod traffic between nodes.
// Traffic between pods keeps its addresses. Only with cni flannel; none
// (or no config) removes the rules.
//
//	config (flannel) ──▶ Apply(pod subnets) ──subnets change──▶ Apply again
//	config none / removed ──▶ Remove
type MasqueradeController struct {
	// Masquerader installs the rules; nil means NFTMasquerader{}.
	Masquerader PodMasquerader

	applied []netip.Prefix
	active  bool
}

// Name implements runtime.Controller.
func (*MasqueradeController) Name() string { return "k8s.MasqueradeController" }

// Inputs implements runtime.Controller.
func (*MasqueradeController) Inputs() []runtime.Input {
	return []runtime.Input{read.ConfigInput}
}

// Outputs implements runtime.Controller: kernel rules, no resource.
func (*MasqueradeController) Outputs() []runtime.Output { return nil }

// Run implements runtime.Controller.
func (c *MasqueradeController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	if c.Masquerader == nil {
		c.Masquerader = NFTMasquerader{}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		}
		if err := c.reconcile(ctx, r, logger); err != nil {
			return err
		}
	}
}

func (c *MasqueradeController) reconcile(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	m, err := read.MachineConfig(ctx, r)
	if err != nil {
		return err
	}
	var want []netip.Prefix
	if m != nil && m.Cluster != nil {
		if cluster, err := newNodeCluster(m.Cluster); err == nil && cluster.cni == "flannel" {
			want = cluster.podSubnets
		}
	}
	if len(want) == 0 {
		if !c.active {
			return nil
		}
		if err := c.Masquerader.Remove(); err != nil {
			return fmt.Errorf("pod egress masquerade: %w", err)
		}
		c.active, c.applied = false, nil
		logger.Info("pod egress masquerade removed")
		return nil
	}
	if c.active && slices.Equal(c.applied, want) {
		return nil
	}
	if err := c.Masquerader.Apply(want); err != nil {
		return fmt.Errorf("pod egress masquerade: %w", err)
	}
	c.active, c.applied = true, want
	logger.Info("pod egress masqueraded", "pod_subnets", want)
	return nil
}
