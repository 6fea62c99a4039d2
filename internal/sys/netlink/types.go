package netlink

import (
	"net/netip"
	"time"
)

// Route protocols machined marks its routes with (see rtnetlink(7)).
const (
	// ProtoStatic marks routes from the config and the kernel command line.
	ProtoStatic = 4 // RTPROT_STATIC
	// ProtoDHCP marks routes from DHCP leases.
	ProtoDHCP = 16 // RTPROT_DHCP
)

// Link is a network link.
type Link struct {
	// Index is the kernel's interface index.
	Index int
	// Name is the link's name ("eth0").
	Name string
	// HardwareAddr is lowercase and colon-separated; empty without one.
	HardwareAddr string
	// Kind is "loopback", "device" or the driver kind (veth, bridge, ...).
	Kind string
	// Physical is true for a device-backed link (a NIC, virtio-net).
	Physical bool
	// Up is the administrative state.
	Up bool
	// OperState is the operational state ("up", "down", ...).
	OperState string
	// MTU is the link's MTU.
	MTU int
}

// Address is an address on a link.
type Address struct {
	// Link is the link's name.
	Link string
	// Prefix is the address with its prefix length.
	Prefix netip.Prefix
	// ValidLifetime is 0 for a permanent address.
	ValidLifetime time.Duration
}

// Route is a route in the main table.
type Route struct {
	// Link is the outgoing link's name.
	Link string
	// Destination is 0.0.0.0/0 or ::/0 for a default route.
	Destination netip.Prefix
	// Gateway is the next hop; invalid for an on-link route.
	Gateway netip.Addr
	// PreferredSource is the source address of packets; may be invalid.
	PreferredSource netip.Addr
	// Metric is the route's priority: lower wins.
	Metric uint32
	// Protocol is the rtnetlink protocol (ProtoStatic, ProtoDHCP, ...).
	Protocol int
}
