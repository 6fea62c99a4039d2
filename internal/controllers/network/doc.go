// Package network holds the controllers of the node's network identity:
// its hostname, the addresses it has and the /etc files that name them.
//
//	MachineConfig ─┐
//	               ├─▶ HostnameController ──▶ Hostname ──┐
//	Addresses() ──▶ NodeAddressController ──▶ NodeAddresses ┴─▶ EtcHostsController ──▶ /etc/hosts
//
// Whatever touches the host comes in as a function (SetHostname,
// Addresses), so the controllers run on in-memory state in tests.
package network
