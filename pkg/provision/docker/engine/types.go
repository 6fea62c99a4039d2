package engine

// The types below mirror the subset of Engine API 1.41 objects that
// Plinth uses; field names are the API's.

// ContainerSpec is the body of POST /containers/create.
type ContainerSpec struct {
	Hostname     string `json:",omitempty"`
	Image        string
	Env          []string            `json:",omitempty"`
	Entrypoint   []string            `json:",omitempty"`
	Cmd          []string            `json:",omitempty"`
	Labels       map[string]string   `json:",omitempty"`
	ExposedPorts map[string]struct{} `json:",omitempty"`
	// StopTimeout is the seconds docker stop waits before SIGKILL.
	StopTimeout      *int `json:",omitempty"`
	HostConfig       HostConfig
	NetworkingConfig NetworkingConfig
}

// HostConfig is the host-side configuration of a container.
type HostConfig struct {
	Privileged  bool     `json:",omitempty"`
	CapAdd      []string `json:",omitempty"`
	CapDrop     []string `json:",omitempty"`
	SecurityOpt []string `json:",omitempty"`
	// CgroupnsMode is "private" or "host".
	CgroupnsMode string `json:",omitempty"`
	// Tmpfs maps mount points to mount options.
	Tmpfs        map[string]string        `json:",omitempty"`
	Mounts       []Mount                  `json:",omitempty"`
	PortBindings map[string][]PortBinding `json:",omitempty"`
	NetworkMode  string                   `json:",omitempty"`
	NanoCPUs     int64                    `json:"NanoCpus,omitempty"`
	// Memory is the memory limit in bytes.
	Memory            int64           `json:",omitempty"`
	Devices           []DeviceMapping `json:",omitempty"`
	DeviceCgroupRules []string        `json:",omitempty"`
	// MaskedPaths and ReadonlyPaths replace Docker's defaults when not
	// nil; empty lists mask nothing and leave /proc writable, like
	// --security-opt systempaths=unconfined.
	MaskedPaths   []string `json:"MaskedPaths"`
	ReadonlyPaths []string `json:"ReadonlyPaths"`
	AutoRemove    bool     `json:",omitempty"`
}

// Mount is a volume, bind or tmpfs mount of a container.
type Mount struct {
	// Type is "volume", "bind" or "tmpfs".
	Type     string
	Source   string `json:",omitempty"`
	Target   string
	ReadOnly bool `json:",omitempty"`
}

// PortBinding publishes a container port on the host; an empty HostPort
// picks a free one.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// DeviceMapping gives the container a host device.
type DeviceMapping struct {
	PathOnHost        string
	PathInContainer   string
	CgroupPermissions string
}

// NetworkingConfig attaches a new container to networks.
type NetworkingConfig struct {
	EndpointsConfig map[string]EndpointSettings `json:",omitempty"`
}

// EndpointSettings is a container's attachment to one network.
type EndpointSettings struct {
	IPAMConfig *EndpointIPAM `json:",omitempty"`
	// IPAddress is filled in by inspect.
	IPAddress string `json:",omitempty"`
}

// EndpointIPAM fixes a container's address in a network.
type EndpointIPAM struct {
	IPv4Address string `json:",omitempty"`
}

// ContainerJSON is the answer of GET /containers/{id}/json.
type ContainerJSON struct {
	ID     string `json:"Id"`
	Name   string
	State  ContainerState
	Config ContainerConfig
	// NetworkSettings holds the published ports and the networks.
	NetworkSettings NetworkSettings
}

// ContainerState is the run state of a container.
type ContainerState struct {
	// Status is created, running, paused, restarting, removing, exited or dead.
	Status  string
	Running bool
	// OOMKilled is true when the kernel killed it for its memory limit.
	OOMKilled bool
	ExitCode  int
	Error     string
}

// ContainerConfig is the part of a container's configuration Plinth reads.
type ContainerConfig struct {
	Hostname string
	Image    string
	Labels   map[string]string
}

// NetworkSettings are a container's ports and network attachments.
type NetworkSettings struct {
	// Ports maps "50000/tcp" to its host bindings.
	Ports    map[string][]PortBinding
	Networks map[string]EndpointSettings
}

// ContainerSummary is one item of GET /containers/json.
type ContainerSummary struct {
	ID     string `json:"Id"`
	Names  []string
	State  string
	Labels map[string]string
}

// NetworkSpec is the body of POST /networks/create.
type NetworkSpec struct {
	Name           string
	Driver         string            `json:",omitempty"`
	CheckDuplicate bool              `json:",omitempty"`
	IPAM           *IPAM             `json:",omitempty"`
	Options        map[string]string `json:",omitempty"`
	Labels         map[string]string `json:",omitempty"`
}

// IPAM is a network's address management.
type IPAM struct {
	Driver string `json:",omitempty"`
	Config []IPAMConfig
}

// IPAMConfig is one subnet of a network.
type IPAMConfig struct {
	Subnet  string `json:",omitempty"`
	Gateway string `json:",omitempty"`
}

// NetworkSummary is one item of GET /networks.
type NetworkSummary struct {
	ID     string `json:"Id"`
	Name   string
	Labels map[string]string
	IPAM   IPAM
}

// VolumeSpec is the body of POST /volumes/create.
type VolumeSpec struct {
	Name   string
	Driver string            `json:",omitempty"`
	Labels map[string]string `json:",omitempty"`
}

// Volume is one named volume.
type Volume struct {
	Name       string
	Labels     map[string]string
	Mountpoint string
}

// Info is the part of GET /info Plinth reads.
type Info struct {
	ID              string
	ServerVersion   string
	KernelVersion   string
	CgroupVersion   string
	CgroupDriver    string
	SecurityOptions []string
	NCPU            int
	MemTotal        int64
}

// ImageInspect is the part of GET /images/{name}/json Plinth reads.
type ImageInspect struct {
	ID       string `json:"Id"`
	RepoTags []string
	Size     int64
	Config   struct {
		Labels map[string]string
	}
}
