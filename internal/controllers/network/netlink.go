package network

import "context"

// Netlink is the kernel's network stack as the metal controllers use it;
// internal/sys/netlink.Handle implements it.
type Netlink interface {
	LinkLister
	LinkSetter
	AddressHandle
	RouteHandle
	// Watch sends on notify when links or addresses change, until ctx ends.
	Watch(ctx context.Context, notify chan<- struct{}) error
}
