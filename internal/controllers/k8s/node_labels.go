package k8s

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/plinth-os/plinth/internal/controllers/internal/read"
	"github.com/plinth-os/plinth/internal/kube"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/v1alpha1"
	"github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
)

// DefaultNodeLabelsRetry is the wait before labelling the node again after
// a failure (the Node is not registered yet, the API is down).
const DefaultNodeLabelsRetry = 5 * time.Second

// NodeLabelFunc applies labels (server-side apply, field manager plinth)
// to the registered Node name with the kubeconfig at the node path
// kubeconfig; a Node that does not exist yet is an error.
type NodeLabelFunc func(ctx context.Context, root, kubeconfig, name string, labels map[string]string) error

// NodeLabelsController sets the labels kubelet may not set on its own Node
// (NodeRestriction refuses node-role.kubernetes.io/* and other
// kubernetes.io labels from a node's identity): on control planes it
// applies them with the admin kubeconfig once the Node registered — the
// control-plane role, and machine.nodeLabels under those prefixes. Workers
// have no admin credentials: such labels of theirs are reported and left
// out.
//
//	Kubelet ──▶ Node registered? ──no──▶ retry after RetryInterval
//	                 │ yes
//	                 ▼
//	          apply labels ──▶ done until the labels or the node change
type NodeLabelsController struct {
	// Root is the file-system root (the admin kubeconfig is read under it).
	Root string
	// Apply labels the Node; nil uses the API.
	Apply NodeLabelFunc
	// RetryInterval overrides DefaultNodeLabelsRetry.
	RetryInterval time.Duration

	done map[string]string // labels applied to doneNode
	node string
}

// Name implements runtime.Controller.
func (*NodeLabelsController) Name() string { return "k8s.NodeLabelsController" }

// Inputs implements runtime.Controller.
func (*NodeLabelsController) Inputs() []runtime.Input {
	return []runtime.Input{
		read.ConfigInput,
		{Namespace: k8s.NamespaceName, Type: k8s.KubeletType, ID: k8s.KubeletID},
	}
}

// Outputs implements runtime.Controller: the Node object, no resource.
func (*NodeLabelsController) Outputs() []runtime.Output { return nil }

// Run implements runtime.Controller.
func (c *NodeLabelsController) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	retry := c.RetryInterval
	if retry <= 0 {
		retry = DefaultNodeLabelsRetry
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	warned := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		case <-timer.C:
		}
		err := c.reconcile(ctx, r, logger)
		if err == nil || ctx.Err() != nil {
			continue
		}
		if err.Error() != warned {
			logger.Info("node labels not applied yet", "error", err)
			warned = err.Error()
		}
		timer.Reset(retry)
	}
}

func (c *NodeLabelsController) reconcile(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	m, err := read.MachineConfig(ctx, r)
	if err != nil {
		return err
	}
	kl, err := read.Typed[k8s.KubeletSpec](ctx, r, k8s.NewKubelet().Metadata().Ref())
	if err != nil || m == nil || m.Machine == nil || kl == nil {
		return err
	}
	spec := kl.TypedSpec()
	want := map[string]string{}
	for k, v := range spec.Labels {
		if !kubeletLabelAllowed(k) {
			want[k] = v
		}
	}
	if len(want) == 0 {
		return nil
	}
	if m.Machine.Type != v1alpha1.TypeControlPlane {
		if c.node != spec.NodeName || !maps.Equal(c.done, want) {
			logger.Warn("labels under kubernetes.io need a control plane: left out", "labels", want)
			c.node, c.done = spec.NodeName, want
		}
		return nil
	}
	if c.node == spec.NodeName && maps.Equal(c.done, want) {
		return nil
	}
	apply := c.Apply
	if apply == nil {
		apply = applyNodeLabels
	}
	if err := apply(ctx, c.Root, AdminKubeconfigPath, spec.NodeName, want); err != nil {
		return err
	}
	logger.Info("node labels applied", "node", spec.NodeName, "labels", want)
	c.node, c.done = spec.NodeName, want
	return nil
}

// errNodeNotRegistered is returned while the Node object does not exist.
var errNodeNotRegistered = errors.New("node not registered yet")

// applyNodeLabels applies labels to an existing Node with server-side
// apply (a missing Node would be created by the apply, so it is checked
// first).
func applyNodeLabels(ctx context.Context, root, kubeconfig, name string, labels map[string]string) error {
	c, err := kubeClientFor(root, kubeconfig)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.GetObject(ctx, "v1", "Node", "", name); err != nil {
		if kube.IsNotFound(err) {
			return fmt.Errorf("%s: %w", name, errNodeNotRegistered)
		}
		return fmt.Errorf("get node %s: %w", name, err)
	}
	obj := kube.Object{
		"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{"name": name, "labels": labels},
	}
	return c.Apply(ctx, obj)
}
