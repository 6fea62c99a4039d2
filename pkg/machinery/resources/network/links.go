package network

import (
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// Types of the link, address and route resources.
const (
	LinkStatusType  = "LinkStatuses.net.plinth.dev"
	LinkSpecType    = "LinkSpecs.net.plinth.dev"
	AddressSpecType = "AddressSpecs.net.plinth.dev"
	RouteSpecType   = "RouteSpecs.net.plinth.dev"
	DHCPLeaseType   = "DHCPLeases.net.plinth.dev"
	ResolversType   = "Resolvers.net.plinth.dev"
)

// ResolversID is the id of the Resolvers resource.
const ResolversID = "resolvers"

// Origins say where a desired setting comes from, in increasing precedence
// for the hostname and the name servers: default < dhcp < cmdline < config.
const (
	OriginDefault = "default"
	OriginDHCP    = "dhcp"
	OriginCmdline = "cmdline"
	OriginConfig  = "config"
)

// LinkStatusSpec is a network link as the kernel reports it (metal only).
type LinkStatusSpec struct {
	// Name is the link's name (also the resource ID).
	Name string `json:"name"`
	// Index is the kernel's interface index.
	Index int `json:"index"`
	// HardwareAddr is the MAC address, lowercase, colon-separated.
	HardwareAddr string `json:"hardwareAddr,omitempty"`
	// Kind is the link type: device, loopback, veth, bridge, vxlan, tuntap...
	Kind string `json:"kind"`
	// Physical is true for links backed by a device (a NIC, virtio-net).
	Physical bool `json:"physical"`
	// Up is the administrative state (IFF_UP).
	Up bool `json:"up"`
	// OperState is the operational state ("up", "down", "unknown", ...).
	OperState string `json:"operState"`
	// MTU is the link's current MTU.
	MTU int `json:"mtu"`
}

// LinkStatus is the observed state of one link.
type LinkStatus = resource.Typed[LinkStatusSpec]

// NewLinkStatus returns an empty status of the link named name.
func NewLinkStatus(name string) *LinkStatus {
	return resource.NewTyped(NamespaceName, LinkStatusType, name, LinkStatusSpec{Name: name})
}

// LinkSpecSpec is how a link should be: up, with an MTU, with DHCP.
type LinkSpecSpec struct {
	// Name is the link's name (also the resource ID).
	Name string `json:"name"`
	// Up brings the link up.
	Up bool `json:"up"`
	// MTU is set when non-zero.
	MTU int `json:"mtu,omitempty"`
	// DHCP runs a DHCPv4 client on the link.
	DHCP bool `json:"dhcp"`
	// Origin is where the setting comes from (config, cmdline, default).
	Origin string `json:"origin"`
}

// LinkSpec is the desired state of one link.
type LinkSpec = resource.Typed[LinkSpecSpec]

// NewLinkSpec returns an empty spec of the link named name.
func NewLinkSpec(name string) *LinkSpec {
	return resource.NewTyped(NamespaceName, LinkSpecType, name, LinkSpecSpec{Name: name})
}

// AddressSpecSpec is an address that should be on a link.
type AddressSpecSpec struct {
	// Link is the link's name.
	Link string `json:"link"`
	// Address is the address and prefix length ("10.5.0.2/24").
	Address string `json:"address"`
	// Origin is where the address comes from (config, cmdline, dhcp).
	Origin string `json:"origin"`
	// ValidUntil bounds the address's lifetime (a DHCP lease's end);
	// zero means forever.
	ValidUntil time.Time `json:"validUntil,omitzero"`
}

// AddressSpec is one desired address.
type AddressSpec = resource.Typed[AddressSpecSpec]

// AddressSpecID is the ID of an address spec: origin/link/address.
func AddressSpecID(origin, link, address string) string {
	return origin + "/" + link + "/" + address
}

// NewAddressSpec returns the spec of address on link from origin.
func NewAddressSpec(origin, link, address string) *AddressSpec {
	return resource.NewTyped(NamespaceName, AddressSpecType, AddressSpecID(origin, link, address),
		AddressSpecSpec{Link: link, Address: address, Origin: origin})
}

// RouteSpecSpec is a route that should be in the main table.
type RouteSpecSpec struct {
	// Link is the outgoing link's name.
	Link string `json:"link"`
	// Destination is the network in CIDR form; 0.0.0.0/0 is the default.
	Destination string `json:"destination"`
	// Gateway is the next hop; empty for an on-link route.
	Gateway string `json:"gateway,omitempty"`
	// PreferredSource is the source address of packets (DHCP routes).
	PreferredSource string `json:"preferredSource,omitempty"`
	// Metric orders routes to the same destination: lower wins.
	Metric uint32 `json:"metric"`
	// Origin is where the route comes from (config, cmdline, dhcp).
	Origin string `json:"origin"`
}

// RouteSpec is one desired route.
type RouteSpec = resource.Typed[RouteSpecSpec]

// RouteSpecID is the ID of a route spec.
func RouteSpecID(s RouteSpecSpec) string {
	gw := s.Gateway
	if gw == "" {
		gw = "onlink"
	}
	return s.Origin + "/" + s.Link + "/" + s.Destination + "/" + gw
}

// NewRouteSpec returns a route resource holding s.
func NewRouteSpec(s RouteSpecSpec) *RouteSpec {
	return resource.NewTyped(NamespaceName, RouteSpecType, RouteSpecID(s), s)
}

// DHCPLeaseSpec is the lease a link holds from a DHCP server.
type DHCPLeaseSpec struct {
	// Link is the link's name (also the resource ID).
	Link string `json:"link"`
	// Address is the leased address with its prefix length.
	Address string `json:"address"`
	// Gateway is the first router offered, if any.
	Gateway string `json:"gateway,omitempty"`
	// Server is the DHCP server's identifier.
	Server string `json:"server"`
	// DNS are the name servers offered.
	DNS []string `json:"dns,omitempty"`
	// Hostname is the host name offered.
	Hostname string `json:"hostname,omitempty"`
	// Domain is the domain name offered.
	Domain string `json:"domain,omitempty"`
	// NTP are the time servers offered.
	NTP []string `json:"ntp,omitempty"`
	// Acquired is when the lease was granted or last renewed.
	Acquired time.Time `json:"acquired"`
	// Renew is when renewing starts (T1).
	Renew time.Time `json:"renew"`
	// Rebind is when rebinding starts (T2).
	Rebind time.Time `json:"rebind"`
	// Expires is when the lease ends.
	Expires time.Time `json:"expires"`
}

// DHCPLease is the DHCP lease of one link.
type DHCPLease = resource.Typed[DHCPLeaseSpec]

// NewDHCPLease returns an empty lease of the link named link.
func NewDHCPLease(link string) *DHCPLease {
	return resource.NewTyped(NamespaceName, DHCPLeaseType, link, DHCPLeaseSpec{Link: link})
}

// ResolversSpec is the resolver configuration written to /etc/resolv.conf.
type ResolversSpec struct {
	// Servers are the name servers, in order.
	Servers []string `json:"servers"`
	// Search are the search domains.
	Search []string `json:"search,omitempty"`
	// Origin is where the servers come from (config, cmdline, dhcp), or
	// empty when there are none.
	Origin string `json:"origin,omitempty"`
}

// Resolvers is the node's resolver configuration.
type Resolvers = resource.Typed[ResolversSpec]

// NewResolvers returns an empty Resolvers resource.
func NewResolvers() *Resolvers {
	return resource.NewTyped(NamespaceName, ResolversType, ResolversID, ResolversSpec{})
}

// linkDefinitions are the definitions of this file's types.
var linkDefinitions = []resource.Definition{
	{Type: LinkStatusType, DefaultNamespace: NamespaceName, Aliases: []string{"links"},
		PrintColumns: []resource.Column{
			{Name: "Kind", JSONPath: "{.spec.kind}"},
			{Name: "HW Addr", JSONPath: "{.spec.hardwareAddr}"},
			{Name: "Oper State", JSONPath: "{.spec.operState}"},
			{Name: "MTU", JSONPath: "{.spec.mtu}"},
		}},
	{Type: LinkSpecType, DefaultNamespace: NamespaceName,
		PrintColumns: []resource.Column{
			{Name: "Up", JSONPath: "{.spec.up}"},
			{Name: "MTU", JSONPath: "{.spec.mtu}"},
			{Name: "DHCP", JSONPath: "{.spec.dhcp}"},
		}},
	{Type: AddressSpecType, DefaultNamespace: NamespaceName,
		PrintColumns: []resource.Column{
			{Name: "Link", JSONPath: "{.spec.link}"},
			{Name: "Address", JSONPath: "{.spec.address}"},
		}},
	{Type: RouteSpecType, DefaultNamespace: NamespaceName,
		PrintColumns: []resource.Column{
			{Name: "Destination", JSONPath: "{.spec.destination}"},
			{Name: "Gateway", JSONPath: "{.spec.gateway}"},
			{Name: "Metric", JSONPath: "{.spec.metric}"},
		}},
	{Type: DHCPLeaseType, DefaultNamespace: NamespaceName, Aliases: []string{"leases"},
		PrintColumns: []resource.Column{
			{Name: "Address", JSONPath: "{.spec.address}"},
			{Name: "Gateway", JSONPath: "{.spec.gateway}"},
			{Name: "Expires", JSONPath: "{.spec.expires}"},
		}},
	{Type: ResolversType, DefaultNamespace: NamespaceName, Aliases: []string{"dns"},
		PrintColumns: []resource.Column{
			{Name: "Servers", JSONPath: "{.spec.servers}"},
			{Name: "Origin", JSONPath: "{.spec.origin}"},
		}},
}
