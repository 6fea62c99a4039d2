package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/pkg/machinery/client"
	"github.com/plinth-os/plinth/pkg/machinery/client/kubeconfig"
	"github.com/plinth-os/plinth/pkg/machinery/config"
)

// The parts of Kubernetes objects the health checks read.
type (
	k8sNodeList struct {
		Items []k8sNode `json:"items"`
	}
	k8sNode struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Status struct {
			Addresses []struct {
				Type    string `json:"type"`
				Address string `json:"address"`
			} `json:"addresses"`
			Conditions []k8sCondition `json:"conditions"`
		} `json:"status"`
	}
	k8sCondition struct {
		Type    string `json:"type"`
		Status  string `json:"status"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	k8sDeployment struct {
		Spec struct {
			Replicas *int `json:"replicas"`
		} `json:"spec"`
		Status struct {
			ReadyReplicas   int `json:"readyReplicas"`
			UpdatedReplicas int `json:"updatedReplicas"`
		} `json:"status"`
	}
)

// kubeAPI returns the Kubernetes API client, fetching an admin kubeconfig
// from the first control plane the first time.
func (h *healthChecker) kubeAPI(ctx context.Context) (*kubeconfig.APIClient, error) {
	if h.api != nil {
		return h.api, nil
	}
	cp := h.nodes.controlPlanes[0]
	data, err := fetchKubeconfig(ctx, h.c, cp, cp)
	if err != nil {
		return nil, err
	}
	kc, err := kubeconfig.Parse(data)
	if err != nil {
		return nil, err
	}
	api, err := kc.APIClient(h.k8sServer)
	if err != nil {
		return nil, err
	}
	h.api = api
	return api, nil
}

// apiAnswers: the API server answers /version as the admin.
func (h *healthChecker) apiAnswers(ctx context.Context) error {
	api, err := h.kubeAPI(ctx)
	if err != nil {
		return err
	}
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	return api.Get(ctx, "/version", &v)
}

// k8sNodes lists the Kubernetes nodes by the Plinth node (IP) they are.
func (h *healthChecker) k8sNodes(ctx context.Context) (map[string]k8sNode, error) {
	api, err := h.kubeAPI(ctx)
	if err != nil {
		return nil, err
	}
	var list k8sNodeList
	if err := api.Get(ctx, "/api/v1/nodes", &list); err != nil {
		return nil, err
	}
	out := map[string]k8sNode{}
	for _, n := range list.Items {
		for _, a := range n.Status.Addresses {
			if a.Type == "InternalIP" || a.Type == "Hostname" {
				out[a.Address] = n
			}
		}
		out[n.Metadata.Name] = n
	}
	return out, nil
}

// nodesRegistered: every node is a Kubernetes node (by InternalIP or name).
func (h *healthChecker) nodesRegistered(ctx context.Context) error {
	nodes, err := h.k8sNodes(ctx)
	if err != nil {
		return err
	}
	var missing []string
	for _, n := range h.nodes.all() {
		if _, ok := nodes[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("not registered yet: %s", strings.Join(missing, ", "))
	}
	return nil
}

// nodesReady: every node's Ready condition is True.
func (h *healthChecker) nodesReady(ctx context.Context) error {
	nodes, err := h.k8sNodes(ctx)
	if err != nil {
		return err
	}
	for _, n := range h.nodes.all() {
		kn, ok := nodes[n]
		if !ok {
			return fmt.Errorf("%s is not registered", n)
		}
		i := slices.IndexFunc(kn.Status.Conditions, func(c k8sCondition) bool { return c.Type == "Ready" })
		if i < 0 {
			return fmt.Errorf("node %s (%s) reports no Ready condition yet", kn.Metadata.Name, n)
		}
		if c := kn.Status.Conditions[i]; c.Status != "True" {
			return fmt.Errorf("node %s (%s) is not Ready: %s", kn.Metadata.Name, n, strings.TrimSpace(c.Reason+" "+c.Message))
		}
	}
	return nil
}

// coreDNSReady: the coredns Deployment has all its replicas ready, unless
// the cluster's config disables CoreDNS.
func (h *healthChecker) coreDNSReady(ctx context.Context) error {
	if err := h.readConfig(ctx); err != nil {
		return err
	}
	if h.noDNS {
		return nil
	}
	api, err := h.kubeAPI(ctx)
	if err != nil {
		return err
	}
	var d k8sDeployment
	err = api.Get(ctx, "/apis/apps/v1/namespaces/kube-system/deployments/coredns", &d)
	if kubeconfig.IsNotFound(err) {
		return errors.New("no coredns Deployment in kube-system yet")
	}
	if err != nil {
		return err
	}
	want := 1
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if d.Status.ReadyReplicas < want || want == 0 {
		return fmt.Errorf("%d of %d coredns replicas ready", d.Status.ReadyReplicas, want)
	}
	return nil
}

// readConfig learns from the first control plane's machine config
// whether CoreDNS is disabled.
func (h *healthChecker) readConfig(ctx context.Context) error {
	if h.config {
		return nil
	}
	cp := h.nodes.controlPlanes[0]
	resp, err := h.c.Machine.GetConfiguration(client.WithNode(ctx, cp), &emptypb.Empty{})
	if err != nil {
		return fmt.Errorf("machine config of %s: %w", cp, apiError{err})
	}
	items, failed := client.Items(resp.GetMessages())
	if len(failed) > 0 {
		return failed[0]
	}
	if len(items) == 0 {
		return fmt.Errorf("machine config of %s: empty answer", cp)
	}
	cfg, err := config.Load(items[0].GetData())
	if err != nil {
		return fmt.Errorf("machine config of %s: %w", cp, err)
	}
	cl := cfg.Machine().Cluster
	h.noDNS = cl != nil && cl.CoreDNS != nil && cl.CoreDNS.Disabled
	h.config = true
	return nil
}
