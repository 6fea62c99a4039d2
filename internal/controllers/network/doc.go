// Package network holds the controllers of the node's network: its
// hostname, its addresses, the /etc files that name them and, on metal,
// its links, addresses, routes, DHCP leases and resolvers.
//
//	MachineConfig ─┬─────────────────────────────▶ HostnameController ──▶ Hostname ──┬─▶ EtcHostsController ──▶ /etc/hosts
//	               │                                   ▲ DHCPLease                   └─▶ ResolvConfController ──▶ /etc/resolv.conf (metal)
//	Addresses() ──▶│ NodeAddressController ──▶ NodeAddresses
//	               │
//	netlink ──▶ LinkStatusController ──▶ LinkStatus ─┐                      (metal only, below)
//	               └──▶ NetworkConfigController ◀────┘ (config, links, ip=)
//	                        │ LinkSpec, AddressSpec, RouteSpec
//	                        ▼
//	                    DHCPController ──▶ DHCPLease, AddressSpec, RouteSpec (origin dhcp)
//	                        │
//	                        ▼
//	LinkApplyController, AddressApplyController, RouteApplyController ──▶ kernel
//
// Whatever touches the host comes in as a function or a small interface
// (SetHostname, Addresses, LinkLister, AddressHandle, RouteHandle, the DHCP
// client), so the controllers run on in-memory state in tests; root tests
// run them against the kernel in a fresh network namespace.
package network
