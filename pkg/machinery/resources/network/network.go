// Package network holds the resources that describe the node on the
// network: its hostname and the addresses it currently has and, on metal,
// its links as observed, the links, addresses and routes it should have,
// its DHCP leases and its resolvers.
package network

import "github.com/plinth-os/plinth/pkg/machinery/resource"

// NamespaceName is the namespace of network resources.
const NamespaceName = "network"

// Types of this package.
const (
	HostnameType      = "Hostnames.net.plinth.dev"
	NodeAddressesType = "NodeAddresses.net.plinth.dev"
)

// IDs of the singleton resources.
const (
	// HostnameID is the id of the Hostname resource.
	HostnameID = "hostname"
	// NodeAddressesID is the id of the NodeAddresses resource.
	NodeAddressesID = "default"
)

// HostnameSpec is the node's hostname, split the way resolvers see it.
type HostnameSpec struct {
	// Hostname is the first label, the kernel hostname ("node1").
	Hostname string `json:"hostname"`
	// Domainname is the rest, possibly empty ("example.com").
	Domainname string `json:"domainname"`
	// FQDN is the full name ("node1.example.com"; the hostname when there
	// is no domain).
	FQDN string `json:"fqdn"`
}

// Hostname is the node's hostname resource.
type Hostname = resource.Typed[HostnameSpec]

// NewHostname returns an empty Hostname resource.
func NewHostname() *Hostname {
	return resource.NewTyped(NamespaceName, HostnameType, HostnameID, HostnameSpec{})
}

// NodeAddressesSpec lists the node's usable addresses.
type NodeAddressesSpec struct {
	// Addresses are in CIDR form ("10.5.0.2/24"), without loopback and
	// link-local ones, global unicast first, then sorted by address.
	Addresses []string `json:"addresses"`
}

// NodeAddresses is the node's addresses resource.
type NodeAddresses = resource.Typed[NodeAddressesSpec]

// NewNodeAddresses returns an empty NodeAddresses resource.
func NewNodeAddresses() *NodeAddresses {
	return resource.NewTyped(NamespaceName, NodeAddressesType, NodeAddressesID, NodeAddressesSpec{})
}

// Definitions of this package's types.
var Definitions = append([]resource.Definition{
	{Type: HostnameType, DefaultNamespace: NamespaceName,
		PrintColumns: []resource.Column{
			{Name: "Hostname", JSONPath: "{.spec.hostname}"},
			{Name: "Domainname", JSONPath: "{.spec.domainname}"},
		}},
	{Type: NodeAddressesType, DefaultNamespace: NamespaceName, Aliases: []string{"nodeaddrs"},
		PrintColumns: []resource.Column{{Name: "Addresses", JSONPath: "{.spec.addresses}"}}},
}, linkDefinitions...)
