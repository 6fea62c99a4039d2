package docker

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/provision"
	"github.com/plinth-os/plinth/pkg/provision/docker/engine"
)

// apiPort is the node API's port inside the container, as Docker names it.
var apiPort = strconv.Itoa(constants.ApidPort) + "/tcp"

// kubernetesPort is kube-apiserver's port inside control-plane containers.
const kubernetesPort = "6443/tcp"

// ExtraKubernetesAPI is the key of provision.Cluster.Extra holding where
// the host reaches the first control plane's Kubernetes API
// ("127.0.0.1:PORT"); each control plane publishes its 6443 on 127.0.0.1.
const ExtraKubernetesAPI = "kubernetes-api"

// nodeStopTimeout is how long docker stop lets machined shut down.
const nodeStopTimeout = 30

// checkRequest validates a cluster request before anything is created.
func checkRequest(req provision.ClusterRequest) error {
	var errs []error
	if err := provision.CheckName(req.Name); err != nil {
		errs = append(errs, err)
	}
	if req.Image == "" {
		errs = append(errs, errors.New("no node image: build one with `make image-container`"))
	}
	if req.StateDir == "" {
		errs = append(errs, errors.New("no state directory"))
	}
	subnet := req.Network
	if !subnet.IsValid() || !subnet.Addr().Is4() || subnet.Bits() > 29 {
		errs = append(errs, fmt.Errorf("network %s: expected an IPv4 subnet of at least 8 addresses, e.g. 10.5.0.0/24", subnet))
	}
	if len(req.Nodes) == 0 {
		errs = append(errs, errors.New("no nodes"))
	}
	gw := gateway(subnet)
	seenName, seenIP := map[string]bool{}, map[netip.Addr]bool{}
	for _, n := range req.Nodes {
		switch {
		case n.Type != provision.TypeControlPlane && n.Type != provision.TypeWorker:
			errs = append(errs, fmt.Errorf("node %s: type %q: expected %s or %s", n.Name, n.Type, provision.TypeControlPlane, provision.TypeWorker))
		case seenName[n.Name]:
			errs = append(errs, fmt.Errorf("node %s: name used twice", n.Name))
		case seenIP[n.IP]:
			errs = append(errs, fmt.Errorf("node %s: address %s used twice", n.Name, n.IP))
		case subnet.IsValid() && (!subnet.Contains(n.IP) || n.IP == subnet.Masked().Addr() || n.IP == gw || n.IP == lastAddr(subnet)):
			errs = append(errs, fmt.Errorf("node %s: address %s is not a host address of %s other than the gateway %s", n.Name, n.IP, subnet, gw))
		case len(n.Config) == 0:
			errs = append(errs, fmt.Errorf("node %s: no machine config", n.Name))
		}
		seenName[n.Name], seenIP[n.IP] = true, true
	}
	return errors.Join(errs...)
}

// gateway is the host's address in the cluster network: its first address.
func gateway(subnet netip.Prefix) netip.Addr {
	if !subnet.IsValid() {
		return netip.Addr{}
	}
	return subnet.Masked().Addr().Next()
}

// lastAddr is the broadcast address of an IPv4 network.
func lastAddr(subnet netip.Prefix) netip.Addr {
	a := subnet.Masked().Addr().As4()
	host := uint32(1)<<(32-subnet.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// networkSpec is the cluster's bridge network.
func networkSpec(req provision.ClusterRequest) engine.NetworkSpec {
	return engine.NetworkSpec{
		Name: NetworkName(req.Name), Driver: "bridge", CheckDuplicate: true,
		IPAM: &engine.IPAM{Driver: "default", Config: []engine.IPAMConfig{{
			Subnet: req.Network.Masked().String(), Gateway: gateway(req.Network).String(),
		}}},
		Labels: map[string]string{LabelCluster: req.Name, LabelStateDir: req.StateDir},
	}
}

// volumeSpecs are a node's named volumes, sorted by name.
func volumeSpecs(cluster, node string) []engine.VolumeSpec {
	var out []engine.VolumeSpec
	for _, name := range volumeNames(node) {
		out = append(out, engine.VolumeSpec{Name: name, Driver: "local",
			Labels: map[string]string{LabelCluster: cluster, LabelNode: node}})
	}
	slices.SortFunc(out, func(a, b engine.VolumeSpec) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// containerSpec is the container of one node.
func containerSpec(req provision.ClusterRequest, n provision.NodeRequest, priv Privileges, kmsg bool) engine.ContainerSpec {
	hc := engine.HostConfig{Privileged: true}
	if !priv.Privileged {
		hc = explicitHostConfig(priv.CapDrop)
		if kmsg {
			hc.Devices = []engine.DeviceMapping{{PathOnHost: "/dev/kmsg", PathInContainer: "/dev/kmsg", CgroupPermissions: "r"}}
		}
	}
	hc.CgroupnsMode = "private"
	hc.NetworkMode = NetworkName(req.Name)
	hc.Tmpfs = map[string]string{
		"/run": "rw,exec,nosuid,nodev,mode=755",
		"/tmp": "rw,exec,nosuid,nodev,mode=1777",
	}
	vols := volumeNames(n.Name)
	for _, target := range []string{"/var", "/system/state"} {
		hc.Mounts = append(hc.Mounts, engine.Mount{Type: "volume", Source: vols[target], Target: target})
	}
	hc.PortBindings = map[string][]engine.PortBinding{apiPort: {{HostIP: "127.0.0.1"}}}
	exposed := map[string]struct{}{apiPort: {}}
	if n.Type == provision.TypeControlPlane {
		hc.PortBindings[kubernetesPort] = []engine.PortBinding{{HostIP: "127.0.0.1"}}
		exposed[kubernetesPort] = struct{}{}
	}
	hc.NanoCPUs = int64(n.CPUs * 1e9)
	hc.Memory = int64(n.MemoryMiB) << 20
	stop := nodeStopTimeout
	return engine.ContainerSpec{
		Hostname: n.Name,
		Image:    req.Image,
		Labels: map[string]string{
			LabelCluster: req.Name, LabelNode: n.Name, LabelType: n.Type,
		},
		ExposedPorts: exposed,
		StopTimeout:  &stop,
		HostConfig:   hc,
		NetworkingConfig: engine.NetworkingConfig{EndpointsConfig: map[string]engine.EndpointSettings{
			NetworkName(req.Name): {IPAMConfig: &engine.EndpointIPAM{IPv4Address: n.IP.String()}},
		}},
	}
}

// publishedAPI returns the host address of a started container's API port.
func publishedAPI(c *engine.ContainerJSON) (string, error) { return publishedPort(c, apiPort) }

// publishedPort returns the host address a started container's port is
// published on.
func publishedPort(c *engine.ContainerJSON, port string) (string, error) {
	for _, b := range c.NetworkSettings.Ports[port] {
		if b.HostPort != "" {
			host := b.HostIP
			if host == "" || host == "0.0.0.0" {
				host = "127.0.0.1"
			}
			return net.JoinHostPort(host, b.HostPort), nil
		}
	}
	return "", fmt.Errorf("container %s publishes no host port for %s", c.Name, port)
}
