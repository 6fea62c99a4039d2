package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/pkg/provision/docker/engine"
)

// found lists a cluster's objects in Docker.
type found struct {
	containers []engine.ContainerSummary
	volumes    []engine.Volume
	networks   []engine.NetworkSummary
}

func (f found) empty() bool {
	return len(f.containers) == 0 && len(f.volumes) == 0 && len(f.networks) == 0
}

// String counts the objects: "2 containers, 4 volumes, 1 network".
func (f found) String() string {
	return strings.Join([]string{
		count(len(f.containers), "container"), count(len(f.volumes), "volume"), count(len(f.networks), "network"),
	}, ", ")
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// objects finds everything labelled as the cluster's.
func (p *Provisioner) objects(ctx context.Context, name string) (found, error) {
	var f found
	var err error
	label := clusterLabel(name)
	if f.containers, err = p.engine.ContainerList(ctx, label); err != nil {
		return f, err
	}
	if f.volumes, err = p.engine.VolumeList(ctx, label); err != nil {
		return f, err
	}
	f.networks, err = p.engine.NetworkList(ctx, label)
	return f, err
}

// Destroy removes the cluster's containers, volumes and network (found by
// their plinth.cluster label) and its state directory.
func (p *Provisioner) Destroy(ctx context.Context, name string, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	out := &lineWriter{w: progress}
	if err := provision.CheckName(name); err != nil {
		return err
	}
	if err := p.engine.Ping(ctx); err != nil {
		return fmt.Errorf("%w: start Docker to destroy cluster %s", err, name)
	}
	f, err := p.objects(ctx, name)
	if err != nil {
		return fmt.Errorf("destroy cluster %s: %w", name, err)
	}
	stateDirs := stateDirsOf(name, f.networks)
	if f.empty() && !anyExists(stateDirs) {
		return fmt.Errorf("%w: no Docker objects labelled %s and no state directory", provision.ErrNotFound, clusterLabel(name))
	}
	var errs []error
	for _, c := range f.containers {
		out.printf("removing container %s", containerName(c))
		if err := p.engine.ContainerRemove(ctx, c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	for _, v := range f.volumes {
		out.printf("removing volume %s", v.Name)
		if err := p.engine.VolumeRemove(ctx, v.Name); err != nil {
			errs = append(errs, err)
		}
	}
	for _, n := range f.networks {
		out.printf("removing network %s", n.Name)
		if err := p.engine.NetworkRemove(ctx, n.ID); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range stateDirs {
		if _, err := os.Stat(d); err != nil {
			continue
		}
		out.printf("removing state directory %s", d)
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, fmt.Errorf("remove state directory: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("destroy cluster %s: %w", name, err)
	}
	return nil
}

// stateDirsOf are the state directories of a cluster: the default one,
// and the one its network's label names if it holds a cluster description
// (a label alone never makes Destroy remove a directory).
func stateDirsOf(name string, networks []engine.NetworkSummary) []string {
	var dirs []string
	if d, err := provision.Dir(name); err == nil {
		dirs = append(dirs, d)
	}
	for _, n := range networks {
		d := n.Labels[LabelStateDir]
		if d == "" || slices.Contains(dirs, d) {
			continue
		}
		if c, err := provision.LoadDir(d); err == nil && c.Name == name {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// NodeStates returns the Docker state of each node's container (running,
// exited, ...; "missing" when it is gone), by node name.
func (p *Provisioner) NodeStates(ctx context.Context, c *provision.Cluster) (map[string]string, error) {
	states := map[string]string{}
	for _, n := range c.Nodes {
		id := n.ID
		if id == "" {
			id = n.Name
		}
		info, err := p.engine.ContainerInspect(ctx, id)
		switch {
		case engine.IsNotFound(err):
			states[n.Name] = "missing"
		case err != nil:
			return nil, err
		case info.State.OOMKilled:
			states[n.Name] = info.State.Status + " (out of memory: give nodes more with --memory)"
		default:
			states[n.Name] = info.State.Status
		}
	}
	return states, nil
}

func anyExists(paths []string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}

func containerName(c engine.ContainerSummary) string {
	if len(c.Names) > 0 {
		return strings.TrimPrefix(c.Names[0], "/")
	}
	return c.ID[:min(12, len(c.ID))]
}

var _ provision.StateReader = (*Provisioner)(nil)
