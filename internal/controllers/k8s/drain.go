package k8s

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/plinth-os/plinth/internal/kube"
)

// drainPoll is how often Drain retries evictions a disruption budget
// refused and looks for pods still there.
var drainPoll = 2 * time.Second

// Drain cordons the Node name (spec.unschedulable) and evicts its pods,
// with the kubelet's own credentials: DaemonSet pods and static (mirror)
// pods stay, as kubectl drain leaves them. An eviction a
// PodDisruptionBudget refuses is retried until ctx ends; where the
// eviction API is forbidden to the node, the pod is deleted. It returns
// once no evictable pod is left on the node.
func Drain(ctx context.Context, root, name string, log *slog.Logger) error {
	c, err := kubeClientFor(root, KubeletKubeconfigPath)
	if err != nil {
		return fmt.Errorf("drain: kubelet credentials: %w", err)
	}
	defer c.Close()
	return drain(ctx, c, name, log)
}

// drain is Drain with a client.
func drain(ctx context.Context, c *kube.Client, name string, log *slog.Logger) error {
	patch := []byte(`{"spec":{"unschedulable":true}}`)
	if _, err := c.Do(ctx, http.MethodPatch, "/api/v1/nodes/"+url.PathEscape(name), nil, "application/strategic-merge-patch+json", patch); err != nil {
		return fmt.Errorf("cordon node %s: %w", name, err)
	}
	log.Info("node cordoned", "node", name)
	for {
		pods, err := evictablePods(ctx, c, name)
		if err != nil {
			return fmt.Errorf("drain: %w", err)
		}
		if len(pods) == 0 {
			log.Info("node drained", "node", name)
			return nil
		}
		for _, p := range pods {
			if err := evict(ctx, c, p); err != nil {
				log.Warn("eviction refused, retrying", "pod", p.Namespace+"/"+p.Name, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain node %s: %d pods left: %w", name, len(pods), ctx.Err())
		case <-time.After(drainPoll):
		}
	}
}

// podRef names a pod.
type podRef struct{ Namespace, Name string }

// evictablePods lists the pods bound to the node that a drain evicts.
func evictablePods(ctx context.Context, c *kube.Client, node string) ([]podRef, error) {
	q := url.Values{"fieldSelector": {"spec.nodeName=" + node}}
	data, err := c.Do(ctx, http.MethodGet, "/api/v1/pods", q, "", nil)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name            string            `json:"name"`
				Namespace       string            `json:"namespace"`
				Annotations     map[string]string `json:"annotations"`
				OwnerReferences []struct {
					Kind string `json:"kind"`
				} `json:"ownerReferences"`
			} `json:"metadata"`
			Status struct {
				Phase string `json:"phase"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var out []podRef
	for _, p := range list.Items {
		if _, mirror := p.Metadata.Annotations["kubernetes.io/config.mirror"]; mirror {
			continue
		}
		if p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed" {
			continue
		}
		daemon := false
		for _, o := range p.Metadata.OwnerReferences {
			daemon = daemon || o.Kind == "DaemonSet"
		}
		if !daemon {
			out = append(out, podRef{p.Metadata.Namespace, p.Metadata.Name})
		}
	}
	return out, nil
}

// evict asks the eviction API to remove the pod, deleting it when the
// node may not evict.
func evict(ctx context.Context, c *kube.Client, p podRef) error {
	path := "/api/v1/namespaces/" + url.PathEscape(p.Namespace) + "/pods/" + url.PathEscape(p.Name)
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "policy/v1", "kind": "Eviction",
		"metadata": map[string]string{"name": p.Name, "namespace": p.Namespace},
	})
	_, err := c.Do(ctx, http.MethodPost, path+"/eviction", nil, "application/json", body)
	var ae *kube.APIError
	if errors.As(err, &ae) && ae.Code == http.StatusForbidden {
		_, err = c.Do(ctx, http.MethodDelete, path, nil, "", nil)
	}
	if kube.IsNotFound(err) {
		return nil
	}
	return err
}
