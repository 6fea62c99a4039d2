// Package docker provisions local Plinth clusters as Docker containers:
// each node is a container of the node image (`make image-container`)
// running machined in container mode as PID 1, on a user-defined bridge
// network with a fixed address, with its node API published on
// 127.0.0.1. Everything it creates carries the label plinth.cluster=NAME,
// which is how Destroy finds it.
//
// Create, step by step:
//
//	check (daemon, image, name free) ─▶ privileges (probe, cached) ─▶ network plinth-NAME
//	  ─▶ per node: volumes NODE-var, NODE-state ─▶ container ─▶ start
//	  ─▶ per node: fingerprint from the logs ─▶ apply config over maintenance TLS
//	  ─▶ cluster.json in the state directory
//	any failure ─▶ everything created so far is removed
//
// It talks to the daemon through the Engine API (package engine).
package docker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/pkg/provision/docker/engine"
)

// Name is the provisioner's name.
const Name = "docker"

// Labels on every container, volume and network of a cluster.
const (
	// LabelCluster names the cluster an object belongs to.
	LabelCluster = "plinth.cluster"
	// LabelNode names the node of a container or volume.
	LabelNode = "plinth.node"
	// LabelType is the machine type of a node container.
	LabelType = "plinth.type"
	// LabelStateDir is the cluster's state directory (on its network).
	LabelStateDir = "plinth.state-dir"
	// LabelProbe marks the throwaway containers of the privileges probe.
	LabelProbe = "plinth.probe"
)

// Engine is the part of the Docker Engine API the provisioner uses;
// *engine.Client implements it.
type Engine interface {
	Ping(ctx context.Context) error
	Info(ctx context.Context) (*engine.Info, error)
	ImageInspect(ctx context.Context, ref string) (*engine.ImageInspect, error)
	NetworkCreate(ctx context.Context, spec engine.NetworkSpec) (string, error)
	NetworkRemove(ctx context.Context, id string) error
	NetworkList(ctx context.Context, labels ...string) ([]engine.NetworkSummary, error)
	VolumeCreate(ctx context.Context, spec engine.VolumeSpec) error
	VolumeRemove(ctx context.Context, name string) error
	VolumeList(ctx context.Context, labels ...string) ([]engine.Volume, error)
	ContainerCreate(ctx context.Context, name string, spec engine.ContainerSpec) (string, error)
	ContainerStart(ctx context.Context, id string) error
	ContainerInspect(ctx context.Context, id string) (*engine.ContainerJSON, error)
	ContainerWait(ctx context.Context, id string) (int, error)
	ContainerRemove(ctx context.Context, id string) error
	ContainerList(ctx context.Context, labels ...string) ([]engine.ContainerSummary, error)
	ContainerLogs(ctx context.Context, id string, tail int) ([]byte, error)
}

// ApplyFunc delivers a machine config to a node in maintenance mode at
// endpoint (host:port), accepting only the certificate with fingerprint.
type ApplyFunc func(ctx context.Context, endpoint, fingerprint string, config []byte) error

// Options configure a Provisioner; zero fields take the defaults.
type Options struct {
	// Engine is the Docker daemon; engine.FromEnv() when nil.
	Engine Engine
	// Apply delivers configs; the node API client in maintenance mode
	// when nil.
	Apply ApplyFunc
	// CacheFile keeps the privileges decision; PrivilegesCacheFile in the
	// clusters directory when empty.
	CacheFile string
	// NoCache disables the privileges cache: every Create probes.
	NoCache bool
	// HostCaps returns the host's capability bounding set and last
	// capability; read from /proc when nil.
	HostCaps func() (bnd uint64, lastCap int, err error)
	// HostHasKmsg says whether /dev/kmsg exists on the host; checked when nil.
	HostHasKmsg func() bool
	// Poll is the interval of log and state polling (default 100ms).
	Poll time.Duration
}

// Provisioner creates and destroys clusters of container nodes.
type Provisioner struct {
	engine    Engine
	apply     ApplyFunc
	cacheFile string
	hostCaps  func() (uint64, int, error)
	hasKmsg   func() bool
	poll      time.Duration
}

var _ provision.Provisioner = (*Provisioner)(nil)

// New returns a Provisioner; see Options for the defaults.
func New(opts Options) (*Provisioner, error) {
	p := &Provisioner{engine: opts.Engine, apply: opts.Apply, cacheFile: opts.CacheFile,
		hostCaps: opts.HostCaps, hasKmsg: opts.HostHasKmsg, poll: opts.Poll}
	if p.engine == nil {
		c, err := engine.FromEnv()
		if err != nil {
			return nil, err
		}
		p.engine = c
	}
	if p.apply == nil {
		p.apply = applyMaintenance
	}
	if p.cacheFile == "" && !opts.NoCache {
		dir, err := provision.ClustersDir()
		if err != nil {
			return nil, err
		}
		p.cacheFile = filepath.Join(dir, PrivilegesCacheFile)
	}
	if opts.NoCache {
		p.cacheFile = ""
	}
	if p.hostCaps == nil {
		p.hostCaps = func() (uint64, int, error) { return hostCaps("/proc") }
	}
	if p.hasKmsg == nil {
		p.hasKmsg = func() bool { _, err := os.Stat("/dev/kmsg"); return err == nil }
	}
	if p.poll <= 0 {
		p.poll = 100 * time.Millisecond
	}
	return p, nil
}

// Name is "docker".
func (p *Provisioner) Name() string { return Name }

// Available reports whether a Docker daemon answers.
func (p *Provisioner) Available(ctx context.Context) error { return p.engine.Ping(ctx) }

// NetworkName is the Docker network of a cluster.
func NetworkName(cluster string) string { return "plinth-" + cluster }

// volumeNames are a node's named volumes by mount point.
func volumeNames(node string) map[string]string {
	return map[string]string{"/var": node + "-var", "/system/state": node + "-state"}
}

// clusterLabel is the label filter of a cluster's objects.
func clusterLabel(name string) string { return LabelCluster + "=" + name }

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("%w", context.Cause(ctx))
	case <-t.C:
		return nil
	}
}
