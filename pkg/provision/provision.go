// Package provision creates and destroys local clusters of Plinth nodes.
// A Provisioner (docker: container-mode nodes; qemu: virtual machines)
// brings nodes up with the machine configs it is given and delivers those
// configs without a shell; `plinthctl cluster create` generates the configs,
// picks a provisioner and waits for the nodes.
//
// Lifecycle of a cluster:
//
//	Create ──▶ nodes booting ──▶ configs delivered ──▶ APIs answer ──▶ (Kubernetes healthy)
//	   │                                                   │
//	   └──────────────── Destroy (from any state) ◀────────┘   nothing left behind
package provision

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
)

// Provisioner brings clusters of nodes up and down.
type Provisioner interface {
	// Name is "docker" or "qemu".
	Name() string
	// Create brings up every node of req and delivers its config, writing
	// progress lines to progress. On error it removes what it created.
	Create(ctx context.Context, req ClusterRequest, progress io.Writer) (*Cluster, error)
	// Destroy removes every node, network and volume of the cluster and its
	// state directory. Destroying a cluster that does not exist is an error
	// wrapping ErrNotFound.
	Destroy(ctx context.Context, name string, progress io.Writer) error
}

// StateReader is implemented by provisioners that can tell whether each
// node runs (`plinthctl cluster show`).
type StateReader interface {
	// NodeStates returns a short state word per node name, such as
	// "running", "exited" or "missing".
	NodeStates(ctx context.Context, c *Cluster) (map[string]string, error)
}

// ErrNotFound is returned for clusters that do not exist.
var ErrNotFound = fmt.Errorf("cluster not found")

// Machine types of nodes.
const (
	TypeControlPlane = "controlplane"
	TypeWorker       = "worker"
)

// ClusterRequest describes a cluster to create.
type ClusterRequest struct {
	// Name of the cluster (a DNS label); also the prefix of node names.
	Name string
	// Network is the cluster's subnet; the gateway is its first address.
	Network netip.Prefix
	// Nodes to create, control planes first.
	Nodes []NodeRequest
	// Image is the node image (docker: an image reference; qemu: the
	// directory holding vmlinux/vmlinuz and initramfs).
	Image string
	// StateDir is where the cluster's state lives (Dir(name) by default).
	StateDir string
}

// NodeRequest describes one node.
type NodeRequest struct {
	// Name of the node, e.g. "demo-controlplane-1".
	Name string
	// Type is TypeControlPlane or TypeWorker.
	Type string
	// IP is the node's address in the cluster network.
	IP netip.Addr
	// Config is the node's machine config.
	Config []byte
	// CPUs and MemoryMiB size the node (0: the provisioner's default).
	CPUs      float64
	MemoryMiB int
}

// Cluster is a created cluster, as stored in its state directory.
type Cluster struct {
	Name        string `json:"name"`
	Provisioner string `json:"provisioner"`
	// Network is the cluster subnet; Gateway the host's address in it.
	Network netip.Prefix `json:"network"`
	Gateway netip.Addr   `json:"gateway"`
	Nodes   []Node       `json:"nodes"`
	// StateDir holds configs, logs and provisioner state.
	StateDir string `json:"stateDir"`
	// Extra is provisioner-specific state (container ids, pids, bridge names).
	Extra map[string]string `json:"extra,omitempty"`
}

// Node is one created node.
type Node struct {
	Name string     `json:"name"`
	Type string     `json:"type"`
	IP   netip.Addr `json:"ip"`
	// APIEndpoint is where the host reaches the node's API (host:port).
	APIEndpoint string `json:"apiEndpoint"`
	// ID is the provisioner's handle (container id, qemu pid).
	ID string `json:"id,omitempty"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$`)

// CheckName validates a cluster name.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("cluster name %q: expected 1-32 lowercase letters, digits and '-', starting and ending alphanumeric", name)
	}
	return nil
}

// ClustersDir is where cluster state directories live: $PLINTH_CLUSTERS or
// ~/.plinth/clusters.
func ClustersDir() (string, error) {
	if d := os.Getenv("PLINTH_CLUSTERS"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("clusters directory: %w", err)
	}
	return filepath.Join(home, ".plinth", "clusters"), nil
}

// Dir is the state directory of the named cluster.
func Dir(name string) (string, error) {
	base, err := ClustersDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, name), nil
}
