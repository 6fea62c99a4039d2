// Package v1alpha1 holds the documents of Plinth's machine config at
// apiVersion v1alpha1: MachineConfig (the main document) and the smaller
// kinds that can sit beside it.
//
// The doc comments of the types in this package are the reference users
// read: `make generate` turns them into `plinthctl explain`, docs/ and a JSON
// schema. Lines starting with "Values:", "Default:" or "Example:" are
// picked up as structured facts.
package v1alpha1

import "github.com/plinth-os/plinth/pkg/machinery/pki"

// APIVersion is the apiVersion of every document in this package.
const APIVersion = "v1alpha1"

// TypeMeta names a document's schema.
type TypeMeta struct {
	// APIVersion of the document.
	// Values: v1alpha1
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	// Kind of the document.
	Kind string `yaml:"kind" json:"kind"`
}

// MachineConfig describes one machine: how it is set up (machine) and the
// Kubernetes cluster it belongs to (cluster).
type MachineConfig struct {
	TypeMeta `yaml:",inline" json:",inline"`
	// Machine holds the settings of this node.
	Machine *Machine `yaml:"machine,omitempty" json:"machine,omitempty"`
	// Cluster holds the settings shared by every node of the cluster.
	Cluster *Cluster `yaml:"cluster,omitempty" json:"cluster,omitempty"`
}

// Machine holds the settings of one node.
type Machine struct {
	// Type is the role of the node in the cluster.
	// Values: controlplane, worker
	Type string `yaml:"type" json:"type"`
	// Token is the machine token a joining node presents to trustd to get its
	// certificates. Same on every node of a cluster.
	// Example: 3kj2hd.3nd82ndk2l4ndk2s
	Token string `yaml:"token,omitempty" json:"token,omitempty"`
	// CA is the Plinth API certificate authority. The private key is present
	// on control-plane nodes only.
	CA *pki.CertAndKey `yaml:"ca,omitempty" json:"ca,omitempty"`
	// CertSANs are extra names and IPs for the node's API certificate.
	// Example: [10.5.0.2, node1.example.com]
	CertSANs []string `yaml:"certSANs,omitempty" json:"certSANs,omitempty"`
	// Install tells where and how Plinth is installed to disk.
	Install *Install `yaml:"install,omitempty" json:"install,omitempty"`
	// Network configures interfaces, addresses, routes and name resolution.
	Network *Network `yaml:"network,omitempty" json:"network,omitempty"`
	// Time configures clock synchronisation over NTP.
	Time *Time `yaml:"time,omitempty" json:"time,omitempty"`
	// Sysctls are kernel parameters set at boot, on top of Plinth's hardened defaults.
	// Example: {net.ipv4.ip_forward: "1"}
	Sysctls map[string]string `yaml:"sysctls,omitempty" json:"sysctls,omitempty"`
	// Kernel configures kernel modules.
	Kernel *Kernel `yaml:"kernel,omitempty" json:"kernel,omitempty"`
	// Files are written by machined at boot, before services start. Only
	// paths under /var and /etc/cri/conf.d are writable.
	Files []File `yaml:"files,omitempty" json:"files,omitempty"`
	// Env is the environment of every service (for example proxy settings).
	// Example: {HTTPS_PROXY: "http://proxy:3128"}
	Env map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	// Kubelet configures the kubelet of this node.
	Kubelet *Kubelet `yaml:"kubelet,omitempty" json:"kubelet,omitempty"`
	// NodeLabels are set on the node's Kubernetes Node object.
	// Example: {topology.kubernetes.io/zone: zone-a}
	NodeLabels map[string]string `yaml:"nodeLabels,omitempty" json:"nodeLabels,omitempty"`
	// NodeTaints are set on the node's Kubernetes Node object, as "value:Effect"
	// or ":Effect", the effect being NoSchedule, PreferNoSchedule or NoExecute.
	// Example: {dedicated: "gpu:NoSchedule"}
	NodeTaints map[string]string `yaml:"nodeTaints,omitempty" json:"nodeTaints,omitempty"`
	// Registries configures mirrors for image pulls by containerd.
	Registries *Registries `yaml:"registries,omitempty" json:"registries,omitempty"`
	// Features turns optional behaviours of the node on or off.
	Features *Features `yaml:"features,omitempty" json:"features,omitempty"`
}

// Install tells where and how Plinth is installed to disk.
type Install struct {
	// Disk is the block device Plinth is installed to.
	// Example: /dev/vda
	Disk string `yaml:"disk,omitempty" json:"disk,omitempty"`
	// Image is the installer image or boot-asset bundle (path or http(s) URL).
	Image string `yaml:"image,omitempty" json:"image,omitempty"`
	// Wipe erases the whole disk before installing.
	// Default: false
	Wipe bool `yaml:"wipe,omitempty" json:"wipe,omitempty"`
}

// Network configures the node's networking.
type Network struct {
	// Hostname of the node. Without it the node takes one from DHCP, or
	// "plinth-" and a short id.
	Hostname string `yaml:"hostname,omitempty" json:"hostname,omitempty"`
	// Interfaces configures network links, each selected by name or by MAC.
	Interfaces []Interface `yaml:"interfaces,omitempty" json:"interfaces,omitempty"`
	// Nameservers are the DNS resolvers, overriding those from DHCP.
	// Example: [1.1.1.1, 2606:4700:4700::1111]
	Nameservers []string `yaml:"nameservers,omitempty" json:"nameservers,omitempty"`
	// ExtraHostEntries are added to /etc/hosts.
	ExtraHostEntries []HostEntry `yaml:"extraHostEntries,omitempty" json:"extraHostEntries,omitempty"`
}

// Interface configures one network link.
type Interface struct {
	// Interface is the link name. Exactly one of interface and deviceSelector is set.
	// Example: eth0
	Interface string `yaml:"interface,omitempty" json:"interface,omitempty"`
	// DeviceSelector selects the link by its properties instead of its name.
	DeviceSelector *DeviceSelector `yaml:"deviceSelector,omitempty" json:"deviceSelector,omitempty"`
	// DHCP runs a DHCPv4 client on the link.
	// Default: false
	DHCP bool `yaml:"dhcp,omitempty" json:"dhcp,omitempty"`
	// Addresses are static addresses in CIDR form.
	// Example: [10.5.0.2/24, fd00::2/64]
	Addresses []string `yaml:"addresses,omitempty" json:"addresses,omitempty"`
	// Routes are static routes through this link.
	Routes []Route `yaml:"routes,omitempty" json:"routes,omitempty"`
	// MTU of the link; 0 keeps the kernel's.
	// Default: 0
	MTU int `yaml:"mtu,omitempty" json:"mtu,omitempty"`
	// Ignore leaves the link alone entirely.
	// Default: false
	Ignore bool `yaml:"ignore,omitempty" json:"ignore,omitempty"`
}

// DeviceSelector selects a network link by its properties.
type DeviceSelector struct {
	// HardwareAddr is the link's MAC address; "*" wildcards are allowed.
	// Example: "52:54:00:*"
	HardwareAddr string `yaml:"hardwareAddr,omitempty" json:"hardwareAddr,omitempty"`
}

// Route is one static route.
type Route struct {
	// Network is the destination in CIDR form; 0.0.0.0/0 (or ::/0) is the default route.
	// Example: 0.0.0.0/0
	Network string `yaml:"network" json:"network"`
	// Gateway is the next hop, of the same IP family as network; empty for on-link routes.
	// Example: 10.5.0.1
	Gateway string `yaml:"gateway,omitempty" json:"gateway,omitempty"`
	// Metric orders routes to the same destination: lower wins.
	// Default: 1024
	Metric uint32 `yaml:"metric,omitempty" json:"metric,omitempty"`
}

// HostEntry is one line of /etc/hosts.
type HostEntry struct {
	// IP address of the entry.
	IP string `yaml:"ip" json:"ip"`
	// Aliases are the names of the address.
	Aliases []string `yaml:"aliases" json:"aliases"`
}

// Time configures clock synchronisation.
type Time struct {
	// Disabled turns NTP synchronisation off.
	// Default: false
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	// Servers are NTP servers (host names or IPs).
	// Default: [pool.ntp.org]
	Servers []string `yaml:"servers,omitempty" json:"servers,omitempty"`
}

// Kernel configures the kernel.
type Kernel struct {
	// Modules are loaded at boot, each after its dependencies, from the
	// modules the image ships for its kernel (metal only; a module the
	// image lacks is reported, not loaded: plinthctl get kernelmodules).
	Modules []KernelModule `yaml:"modules,omitempty" json:"modules,omitempty"`
}

// KernelModule is one kernel module to load.
type KernelModule struct {
	// Name of the module.
	// Example: br_netfilter
	Name string `yaml:"name" json:"name"`
	// Parameters passed to the module, as key=value.
	Parameters []string `yaml:"parameters,omitempty" json:"parameters,omitempty"`
}

// File is written by machined at boot.
type File struct {
	// Content of the file.
	Content string `yaml:"content" json:"content"`
	// Path of the file: absolute, under /var or /etc/cri/conf.d.
	// Example: /var/etc/motd
	Path string `yaml:"path" json:"path"`
	// Permissions of the file, in octal.
	// Default: 0o644
	Permissions uint32 `yaml:"permissions,omitempty" json:"permissions,omitempty"`
	// Op says how to write: create replaces the file, append adds to it.
	// Values: create, append
	// Default: create
	Op string `yaml:"op,omitempty" json:"op,omitempty"`
}

// Kubelet configures the kubelet.
type Kubelet struct {
	// ExtraArgs are extra kubelet flags, without the leading "--".
	// Example: {max-pods: "150"}
	ExtraArgs map[string]string `yaml:"extraArgs,omitempty" json:"extraArgs,omitempty"`
	// ExtraConfig is merged into the KubeletConfiguration Plinth generates.
	// Example: {serializeImagePulls: false}
	ExtraConfig map[string]any `yaml:"extraConfig,omitempty" json:"extraConfig,omitempty"`
	// NodeIP chooses the node's Kubernetes address.
	NodeIP *NodeIP `yaml:"nodeIP,omitempty" json:"nodeIP,omitempty"`
}

// NodeIP chooses the address the kubelet registers.
type NodeIP struct {
	// ValidSubnets are CIDRs the node IP is picked from; "!" excludes one.
	// Example: [10.5.0.0/16, "!10.5.0.1/32"]
	ValidSubnets []string `yaml:"validSubnets,omitempty" json:"validSubnets,omitempty"`
}

// Registries configures image registries for containerd.
type Registries struct {
	// Mirrors maps a registry host (or "*") to the mirrors used instead.
	// Example: {docker.io: {endpoints: ["http://10.5.0.1:5000"]}}
	Mirrors map[string]Mirror `yaml:"mirrors,omitempty" json:"mirrors,omitempty"`
}

// Mirror lists the endpoints that serve a registry.
type Mirror struct {
	// Endpoints are http(s) URLs tried in order.
	Endpoints []string `yaml:"endpoints" json:"endpoints"`
}

// Features turns optional node behaviours on or off.
type Features struct {
	// RBAC enforces API roles from client certificates. Turning it off gives
	// every valid client certificate the admin role.
	// Default: true
	RBAC *bool `yaml:"rbac,omitempty" json:"rbac,omitempty"`
	// StableHostname derives the default hostname from the machine id
	// rather than from the first address.
	// Default: true
	StableHostname *bool `yaml:"stableHostname,omitempty" json:"stableHostname,omitempty"`
	// APIDCheckExtKeyUsage makes apid require the client-auth extended key
	// usage on client certificates.
	// Default: true
	APIDCheckExtKeyUsage *bool `yaml:"apidCheckExtKeyUsage,omitempty" json:"apidCheckExtKeyUsage,omitempty"`
}
