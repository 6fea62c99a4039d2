package k8s

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
)

// Defaults of PodCIDRController.
const (
	// DefaultPodCIDRPoll is the wait between reads until the node has its
	// pod CIDRs (kube-controller-manager allocates them once the node
	// registered). The node is not Ready before its CNI config, which
	// waits for them: a short poll is a second sooner to Ready.
	DefaultPodCIDRPoll = time.Second
	// DefaultPodCIDRRecheck is the wait between reads once it has them (a
	// deleted and re-registered Node may get new ones).
	DefaultPodCIDRRecheck = time.Minute
)

// PodCIDRsFunc reads the pod CIDRs of the Node name with the kubeconfig at
// the node path kubeconfig.
type PodCIDRsFunc func(ctx context.Context, root, kubeconfig, name string) ([]string, error)

// PodCIDRController publishes the pod CIDRs the cluster gave this node
// (spec.podCIDRs of its Node object) as the PodCIDRs resource, read with
// the kubelet's own credentials once its TLS bootstrap is done.
//
//	no Kubelet ──Kubelet──▶ poll the Node every PollInterval ──podCIDRs──▶ PodCIDRs
//	                                 ▲                                       │
//	                                 └──── changed or gone (RecheckInterval) ┘
type PodCIDRController struct {
	// Root is the file-system root (the kubeconfig is read under it).
	Root string
	// Get reads the pod CIDRs; nil reads the Node through the API.
	Get PodCIDRsFunc
	// PollInterval and RecheckInterval override the defaults.
	PollInterval, RecheckInterval time.Duration
}

// Name implements runtime.Controller.
func (*PodCIDRController) Name() string { return "k8s.PodCIDRController" }

// Inputs implements runtime.Controller.
func (*PodCIDRController) Inputs() []runtime.Input {
	return []runtime.Input{{Namespace: k8s.NamespaceName, Type: k8s.KubeletType, ID: k8s.KubeletID}}
}

// Outputs implements runtime.Controller.
func (*PodCIDRController) Outputs() []runtime.Output {
	return []runtime.Output{{Type: k8s.PodCIDRsType}}
}

// Run implements runtime.Controller.
func (c *PodCIDRController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	poll, recheck := c.PollInterval, c.RecheckInterval
	if poll <= 0 {
		poll = DefaultPodCIDRPoll
	}
	if recheck <= 0 {
		recheck = DefaultPodCIDRRecheck
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		case <-timer.C:
		}
		have, err := c.reconcile(ctx, r)
		switch {
		case err != nil && !errors.Is(err, errNoKubeconfig) && err.Error() != lastErr:
			logger.Info("pod CIDRs not read yet", "error", err)
			lastErr = err.Error()
		case err == nil:
			lastErr = ""
		}
		if ctx.Err() != nil {
			return nil
		}
		if have {
			timer.Reset(recheck)
		} else {
			timer.Reset(poll)
		}
	}
}

// reconcile reads the Node's pod CIDRs and reports whether it has some.
func (c *PodCIDRController) reconcile(ctx context.Context, r runtime.ControllerRuntime) (bool, error) {
	kl, err := read.Typed[k8s.KubeletSpec](ctx, r, k8s.NewKubelet().Metadata().Ref())
	if err != nil {
		return false, err
	}
	tr := runtime.NewOutputTracker(r, k8s.NamespaceName, k8s.PodCIDRsType)
	if kl == nil {
		return false, tr.Cleanup(ctx)
	}
	spec := kl.TypedSpec()
	get := c.Get
	if get == nil {
		get = nodePodCIDRs
	}
	cidrs, err := get(ctx, c.Root, spec.Kubeconfig, spec.NodeName)
	if err != nil || len(cidrs) == 0 {
		if err == nil {
			err = fmt.Errorf("node %s has no pod CIDR yet", spec.NodeName)
		}
		// Keep what was published: the API may just be unreachable.
		cur, rerr := read.Typed[k8s.PodCIDRsSpec](ctx, r, k8s.NewPodCIDRs().Metadata().Ref())
		if rerr == nil && cur != nil && cur.TypedSpec().NodeName == spec.NodeName {
			return true, err
		}
		return false, err
	}
	want := k8s.PodCIDRsSpec{NodeName: spec.NodeName, PodCIDRs: cidrs}
	err = tr.Modify(ctx, k8s.NewPodCIDRs(), func(res resource.Resource) error {
		cur := res.(*k8s.PodCIDRs).TypedSpec()
		if cur.NodeName != want.NodeName || !slices.Equal(cur.PodCIDRs, want.PodCIDRs) {
			*cur = want
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("pod CIDRs: %w", err)
	}
	return true, tr.Cleanup(ctx)
}
