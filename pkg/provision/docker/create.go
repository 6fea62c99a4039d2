package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/pkg/provision/docker/engine"
)

// cleanupTimeout bounds the removal of a failed cluster, which runs even
// when the Create context was cancelled.
const cleanupTimeout = 2 * time.Minute

// undo records what Create made, to remove it on failure, last first. It
// is safe for concurrent use.
type undo struct {
	mu    sync.Mutex
	steps []func(ctx context.Context) error
}

func (u *undo) push(f func(ctx context.Context) error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.steps = append(u.steps, f)
}

func (u *undo) run(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	var errs []error
	for i := len(u.steps) - 1; i >= 0; i-- {
		if err := u.steps[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	u.steps = nil
	return errors.Join(errs...)
}

// Create brings up the cluster's containers and delivers their configs.
func (p *Provisioner) Create(ctx context.Context, req provision.ClusterRequest, progress io.Writer) (_ *provision.Cluster, err error) {
	if progress == nil {
		progress = io.Discard
	}
	out := &lineWriter{w: progress}
	if err := checkRequest(req); err != nil {
		return nil, fmt.Errorf("create cluster: %w", err)
	}
	if err := p.preflight(ctx, req); err != nil {
		return nil, err
	}
	priv, err := p.privileges(ctx, req.Image)
	if err != nil {
		return nil, err
	}
	out.printf("node privileges: %s (%s)", priv.Mode(), priv.Reason)

	var u undo
	defer func() {
		if err == nil {
			return
		}
		out.printf("removing what was created for cluster %s", req.Name)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if cerr := u.run(cctx); cerr != nil {
			err = fmt.Errorf("%w; cleanup failed too (run `plinthctl cluster destroy --name %s`): %v", err, req.Name, cerr)
		}
	}()

	out.printf("creating network %s (%s)", NetworkName(req.Name), req.Network)
	netID, err := p.engine.NetworkCreate(ctx, networkSpec(req))
	if err != nil {
		return nil, networkError(err, req)
	}
	u.push(func(ctx context.Context) error { return p.engine.NetworkRemove(ctx, netID) })

	cluster := &provision.Cluster{
		Name: req.Name, Provisioner: Name, Network: req.Network.Masked(), Gateway: gateway(req.Network),
		StateDir: req.StateDir,
		Extra:    map[string]string{"network": NetworkName(req.Name), "image": req.Image, "privileges": priv.Mode()},
	}
	var k8s map[string]string
	if cluster.Nodes, k8s, err = p.bringUp(ctx, req, priv, &u, out); err != nil {
		return nil, err
	}
	for _, n := range cluster.Nodes {
		if ep := k8s[n.Name]; ep != "" {
			cluster.Extra[ExtraKubernetesAPI] = ep
			break
		}
	}
	if err := cluster.Save(); err != nil {
		return nil, err
	}
	return cluster, nil
}

// preflight checks the daemon, the image and that the cluster is new.
func (p *Provisioner) preflight(ctx context.Context, req provision.ClusterRequest) error {
	if err := p.engine.Ping(ctx); err != nil {
		return fmt.Errorf("%w: start Docker (hack/ensure-docker.sh on Debian) or choose another provisioner with --provisioner", err)
	}
	if _, err := p.engine.ImageInspect(ctx, req.Image); err != nil {
		if engine.IsNotFound(err) {
			return fmt.Errorf("node image %s is not in the Docker daemon: build it with `make image-container` (node images are built locally, never pulled)", req.Image)
		}
		return err
	}
	found, err := p.objects(ctx, req.Name)
	if err != nil {
		return err
	}
	if !found.empty() {
		return fmt.Errorf("cluster %s already exists in Docker (%s): remove it with `plinthctl cluster destroy --name %s` or choose another --name",
			req.Name, found, req.Name)
	}
	return nil
}

// networkError words the daemon's refusals of the cluster network.
func networkError(err error, req provision.ClusterRequest) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "overlap"):
		return fmt.Errorf("%w: subnet %s is in use by another network; choose another with --subnet", err, req.Network)
	case engine.IsConflict(err) || strings.Contains(msg, "already exists"):
		return fmt.Errorf("%w: a network named %s exists but does not belong to a Plinth cluster; remove it (docker network rm %s) or choose another --name",
			err, NetworkName(req.Name), NetworkName(req.Name))
	}
	return err
}

// startNode creates a node's volumes and container, starts it and reads
// its published API port, and for a control plane its published
// Kubernetes API port.
func (p *Provisioner) startNode(ctx context.Context, req provision.ClusterRequest, n provision.NodeRequest, priv Privileges, u *undo, out *lineWriter) (_ provision.Node, k8s string, _ error) {
	for _, v := range volumeSpecs(req.Name, n.Name) {
		if err := p.engine.VolumeCreate(ctx, v); err != nil {
			return provision.Node{}, "", err
		}
		u.push(func(ctx context.Context) error { return p.engine.VolumeRemove(ctx, v.Name) })
	}
	id, err := p.engine.ContainerCreate(ctx, n.Name, containerSpec(req, n, priv, p.hasKmsg()))
	if err != nil {
		return provision.Node{}, "", err
	}
	u.push(func(ctx context.Context) error { return p.engine.ContainerRemove(ctx, id) })
	if err := p.engine.ContainerStart(ctx, id); err != nil {
		return provision.Node{}, "", err
	}
	c, err := p.engine.ContainerInspect(ctx, id)
	if err != nil {
		return provision.Node{}, "", err
	}
	ep, err := publishedAPI(c)
	if err != nil {
		return provision.Node{}, "", err
	}
	node := provision.Node{Name: n.Name, Type: n.Type, IP: n.IP, APIEndpoint: ep, ID: id}
	if n.Type != provision.TypeControlPlane {
		out.printf("started %s (%s, %s): API published on %s", n.Name, n.Type, n.IP, ep)
		return node, "", nil
	}
	if k8s, err = publishedPort(c, kubernetesPort); err != nil {
		return provision.Node{}, "", err
	}
	out.printf("started %s (%s, %s): API published on %s, Kubernetes API on %s", n.Name, n.Type, n.IP, ep, k8s)
	return node, k8s, nil
}

// bringUp starts every node and delivers its config, nodes in parallel;
// the first failure cancels the others and is returned. The nodes are
// returned in the request's order, with the published Kubernetes API of
// each control plane by node name.
func (p *Provisioner) bringUp(ctx context.Context, req provision.ClusterRequest, priv Privileges, u *undo, out *lineWriter) ([]provision.Node, map[string]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	nodes := make([]provision.Node, len(req.Nodes))
	k8s := make([]string, len(req.Nodes))
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for i, n := range req.Nodes {
		wg.Go(func() {
			node, ep, err := p.startNode(ctx, req, n, priv, u, out)
			if err == nil {
				err = p.deliver(ctx, node, n.Config, out)
			}
			if err != nil {
				// The first failure is the cause; the others follow from
				// the cancellation.
				once.Do(func() { first = err; cancel() })
			}
			nodes[i], k8s[i] = node, ep
		})
	}
	wg.Wait()
	if first != nil {
		return nil, nil, first
	}
	eps := map[string]string{}
	for i, n := range nodes {
		if k8s[i] != "" {
			eps[n.Name] = k8s[i]
		}
	}
	return nodes, eps, nil
}

// lineWriter serializes progress lines from several goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}
