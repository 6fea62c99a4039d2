package network_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/plinth-os/plinth/internal/sys/dhcp"
	"github.com/plinth-os/plinth/internal/sys/netlink"
)

// fakeKernel is an in-memory network stack implementing the controllers'
// netlink interfaces.
type fakeKernel struct {
	mu     sync.Mutex
	links  []netlink.Link
	addrs  []netlink.Address
	routes []netlink.Route
	calls  []string
}

func newFakeKernel(links ...netlink.Link) *fakeKernel {
	return &fakeKernel{links: links}
}

func (k *fakeKernel) record(format string, args ...any) {
	k.calls = append(k.calls, fmt.Sprintf(format, args...))
}

func (k *fakeKernel) find(name string) int {
	return slices.IndexFunc(k.links, func(l netlink.Link) bool { return l.Name == name })
}

func (k *fakeKernel) Links() ([]netlink.Link, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.links), nil
}

func (k *fakeKernel) SetUp(name string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	i := k.find(name)
	if i < 0 {
		return fmt.Errorf("link %s: not found", name)
	}
	k.links[i].Up = true
	k.record("up %s", name)
	return nil
}

func (k *fakeKernel) SetMTU(name string, mtu int) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	i := k.find(name)
	if i < 0 {
		return fmt.Errorf("link %s: not found", name)
	}
	k.links[i].MTU = mtu
	k.record("mtu %s %d", name, mtu)
	return nil
}

func (k *fakeKernel) Addresses() ([]netlink.Address, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.addrs), nil
}

func (k *fakeKernel) ReplaceAddress(link string, p netip.Prefix, valid time.Duration) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.find(link) < 0 {
		return fmt.Errorf("link %s: not found", link)
	}
	k.addrs = slices.DeleteFunc(k.addrs, func(a netlink.Address) bool { return a.Link == link && a.Prefix == p })
	k.addrs = append(k.addrs, netlink.Address{Link: link, Prefix: p, ValidLifetime: valid})
	k.record("addr %s %s", link, p)
	return nil
}

func (k *fakeKernel) DeleteAddress(link string, p netip.Prefix) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.addrs = slices.DeleteFunc(k.addrs, func(a netlink.Address) bool { return a.Link == link && a.Prefix == p })
	k.record("del addr %s %s", link, p)
	return nil
}

func (k *fakeKernel) Routes() ([]netlink.Route, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.routes), nil
}

var errUnreachable error = syscall.ENETUNREACH

// AddRoute fails, as the kernel does, while no address of the link covers
// the gateway.
func (k *fakeKernel) AddRoute(r netlink.Route) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if r.Gateway.IsValid() && !slices.ContainsFunc(k.addrs, func(a netlink.Address) bool {
		return a.Link == r.Link && a.Prefix.Masked().Contains(r.Gateway)
	}) {
		return fmt.Errorf("add route via %s: %w", r.Gateway, errUnreachable)
	}
	k.routes = append(k.routes, r)
	k.record("route %s %s via %s", r.Link, r.Destination, r.Gateway)
	return nil
}

func (k *fakeKernel) DeleteRoute(r netlink.Route) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.routes = slices.DeleteFunc(k.routes, func(x netlink.Route) bool { return x == r })
	k.record("del route %s %s", r.Link, r.Destination)
	return nil
}

func (k *fakeKernel) link(name string) (netlink.Link, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	i := k.find(name)
	if i < 0 {
		return netlink.Link{}, false
	}
	return k.links[i], true
}

func (k *fakeKernel) hasAddr(link, cidr string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	p := netip.MustParsePrefix(cidr)
	return slices.ContainsFunc(k.addrs, func(a netlink.Address) bool { return a.Link == link && a.Prefix == p })
}

func (k *fakeKernel) hasRoute(link, dst, gw string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.ContainsFunc(k.routes, func(r netlink.Route) bool {
		return r.Link == link && r.Destination.String() == dst && (gw == "" && !r.Gateway.IsValid() || r.Gateway.String() == gw)
	})
}

func (k *fakeKernel) addrLifetime(link, cidr string) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	p := netip.MustParsePrefix(cidr)
	for _, a := range k.addrs {
		if a.Link == link && a.Prefix == p {
			return a.ValidLifetime
		}
	}
	return -1
}

// fakeDHCP is a scripted DHCP client factory: each Request, Renew or
// Rebind takes the next answer of its link's script, or blocks until the
// context ends when the script is empty.
type fakeDHCP struct {
	mu       sync.Mutex
	answers  map[string][]answer
	released []string
	closed   int
	opened   int
	calls    []string
}

type answer struct {
	lease *dhcp.Lease
	err   error
}

func newFakeDHCP() *fakeDHCP { return &fakeDHCP{answers: map[string][]answer{}} }

func (f *fakeDHCP) script(link string, answers ...answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[link] = append(f.answers[link], answers...)
}

func (f *fakeDHCP) open(link string) (dhcp.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened++
	return &fakeClient{f: f, link: link}, nil
}

func (f *fakeDHCP) get() (calls, released []string, opened, closed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls), slices.Clone(f.released), f.opened, f.closed
}

type fakeClient struct {
	f    *fakeDHCP
	link string
}

func (c *fakeClient) next(ctx context.Context, what string) (*dhcp.Lease, error) {
	for {
		c.f.mu.Lock()
		if q := c.f.answers[c.link]; len(q) > 0 {
			c.f.answers[c.link] = q[1:]
			c.f.calls = append(c.f.calls, what+" "+c.link)
			c.f.mu.Unlock()
			if q[0].lease != nil {
				l := *q[0].lease
				l.Acquired = time.Now()
				return &l, nil
			}
			return nil, q[0].err
		}
		c.f.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (c *fakeClient) Request(ctx context.Context) (*dhcp.Lease, error) { return c.next(ctx, "request") }

func (c *fakeClient) Renew(ctx context.Context, _ *dhcp.Lease) (*dhcp.Lease, error) {
	return c.next(ctx, "renew")
}

func (c *fakeClient) Rebind(ctx context.Context, _ *dhcp.Lease) (*dhcp.Lease, error) {
	return c.next(ctx, "rebind")
}

func (c *fakeClient) Release(l *dhcp.Lease) error {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	c.f.released = append(c.f.released, c.link+" "+l.Address.String())
	return nil
}

func (c *fakeClient) Close() error {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	c.f.closed++
	return nil
}
