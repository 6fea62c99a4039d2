package qemu

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netnsDir is where named network namespaces are bind-mounted (ip-netns(8)).
const netnsDir = "/run/netns"

// Network names a cluster's links and network namespace.
//
// The bridge and the taps live in the namespace, so bridged traffic
// between nodes passes only the namespace's (empty) netfilter hooks: on a
// host where br_netfilter sends bridged frames through iptables and the
// FORWARD policy is DROP (what Docker sets), nodes on a bridge in the
// host namespace could not reach each other. The host reaches the
// namespace through a veth pair: HostLink, with the gateway address, and
// Uplink, a port of the bridge.
type Network struct {
	// Netns is the named network namespace (ip netns list).
	Netns string `json:"netns"`
	// HostLink is the veth end in the host namespace; it has the gateway.
	HostLink string `json:"hostLink"`
	// Bridge is the bridge inside Netns.
	Bridge string `json:"bridge"`
	// Uplink is the veth end inside Netns, a port of Bridge.
	Uplink string `json:"uplink"`
}

// nsPath is the namespace's bind mount.
func (n Network) nsPath() string { return filepath.Join(netnsDir, n.Netns) }

// present reports which of the host link and the namespace exist.
func (n Network) present() (hostLink, namespace bool) {
	_, err := netlink.LinkByName(n.HostLink)
	hostLink = err == nil
	_, err = os.Stat(n.nsPath())
	return hostLink, err == nil
}

// setup creates the namespace with its bridge, the veth pair and the
// gateway address on the host end. On error it removes what it made (and
// only that: a namespace or link of the same name that existed stays).
func (n Network) setup(gateway netip.Prefix) (err error) {
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
			err = fmt.Errorf("cluster network: %w", err)
		}
	}()
	ns, err := newNamedNetns(n.Netns)
	if err != nil {
		return err
	}
	defer ns.Close()
	undo = append(undo, func() { _ = deleteNamedNetns(n.nsPath()) })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in namespace %s: %w", n.Netns, err)
	}
	defer h.Close()
	if lo, err := h.LinkByName("lo"); err == nil {
		_ = h.LinkSetUp(lo)
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge}}
	if err := h.LinkAdd(br); err != nil {
		return fmt.Errorf("create bridge %s in namespace %s: %w (is the bridge module available? modprobe bridge)", n.Bridge, n.Netns, err)
	}
	if err := h.LinkSetUp(br); err != nil {
		return fmt.Errorf("bring bridge %s up: %w", n.Bridge, err)
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: n.HostLink}, PeerName: n.Uplink, PeerNamespace: netlink.NsFd(int(ns))}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s: %w", n.HostLink, err)
	}
	undo = append(undo, func() {
		if l, err := netlink.LinkByName(n.HostLink); err == nil {
			_ = netlink.LinkDel(l)
		}
	})
	up, err := h.LinkByName(n.Uplink)
	if err != nil {
		return fmt.Errorf("veth %s in namespace %s: %w", n.Uplink, n.Netns, err)
	}
	if err := h.LinkSetMaster(up, br); err != nil {
		return fmt.Errorf("attach %s to bridge %s: %w", n.Uplink, n.Bridge, err)
	}
	if err := h.LinkSetUp(up); err != nil {
		return fmt.Errorf("bring %s up: %w", n.Uplink, err)
	}
	host, err := netlink.LinkByName(n.HostLink)
	if err != nil {
		return fmt.Errorf("veth %s: %w", n.HostLink, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: gateway.Addr().AsSlice(), Mask: net.CIDRMask(gateway.Bits(), 32)}}
	if err := netlink.AddrAdd(host, addr); err != nil {
		return fmt.Errorf("add gateway %s to %s: %w", gateway, n.HostLink, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("bring %s up: %w", n.HostLink, err)
	}
	return nil
}

// teardown removes the host link (its peer goes with it) and the
// namespace (the bridge and any tap go with it); it returns what existed.
func (n Network) teardown() ([]string, error) {
	var removed []string
	var errs []error
	if l, err := netlink.LinkByName(n.HostLink); err == nil {
		if err := netlink.LinkDel(l); err != nil {
			errs = append(errs, fmt.Errorf("remove link %s: %w", n.HostLink, err))
		} else {
			removed = append(removed, "link "+n.HostLink)
		}
	}
	if _, err := os.Stat(n.nsPath()); err == nil {
		if err := deleteNamedNetns(n.nsPath()); err != nil {
			errs = append(errs, err)
		} else {
			removed = append(removed, "network namespace "+n.Netns+" (bridge "+n.Bridge+", taps)")
		}
	}
	return removed, errors.Join(errs...)
}

// newNamedNetns creates a network namespace bind-mounted at
// /run/netns/NAME and returns a handle to it. The unshare happens on a
// thread of its own, which is discarded afterwards so no goroutine ever
// runs in the new namespace by accident.
func newNamedNetns(name string) (netns.NsHandle, error) {
	type result struct {
		ns  netns.NsHandle
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		ns, err := netns.NewNamed(name)
		if err != nil {
			err = fmt.Errorf("create network namespace %s: %w", name, err)
		}
		ch <- result{ns, err}
	}()
	r := <-ch
	return r.ns, r.err
}

// deleteNamedNetns unmounts and removes a named namespace's bind mount; the
// namespace itself goes when nothing else holds it.
func deleteNamedNetns(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("unmount network namespace %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network namespace %s: %w", path, err)
	}
	return nil
}

// inNetns runs f on a thread switched into the named namespace. The
// thread returns to the host namespace afterwards, or is discarded if it
// cannot.
func inNetns(name string, f func() error) error {
	ns, err := netns.GetFromPath(filepath.Join(netnsDir, name))
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", name, err)
	}
	defer ns.Close()
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- fmt.Errorf("current network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			ch <- fmt.Errorf("enter network namespace %s: %w", name, err)
			return
		}
		ferr := f()
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread()
		}
		ch <- ferr
	}()
	return <-ch
}

// openTap creates node tap name inside the namespace (it lives while a
// file refers to it), attaches it to the bridge, brings it up, and returns
// the file to pass to QEMU. The tap carries virtio-net headers, so QEMU
// can offload checksums.
func openTap(n Network, name string) (*os.File, error) {
	var fd int
	err := inNetns(n.Netns, func() error {
		var err error
		fd, err = unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open /dev/net/tun: %w (load the tun module: modprobe tun)", err)
		}
		ifr, err := unix.NewIfreq(name)
		if err == nil {
			ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
			err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
		}
		if err != nil {
			unix.Close(fd)
			return fmt.Errorf("create tap %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "tap "+name)
	if err := n.attachTap(name); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// attachTap makes the tap a port of the bridge and brings it up.
func (n Network) attachTap(name string) error {
	ns, err := netns.GetFromPath(n.nsPath())
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", n.Netns, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in namespace %s: %w", n.Netns, err)
	}
	defer h.Close()
	tap, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("tap %s: %w", name, err)
	}
	br, err := h.LinkByName(n.Bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", n.Bridge, err)
	}
	if err := h.LinkSetMaster(tap, br); err != nil {
		return fmt.Errorf("attach tap %s to bridge %s: %w", name, n.Bridge, err)
	}
	if err := h.LinkSetUp(tap); err != nil {
		return fmt.Errorf("bring tap %s up: %w", name, err)
	}
	return nil
}

// subnetInUse names a host address or route that overlaps subnet, or "".
func subnetInUse(subnet netip.Prefix) (string, error) {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return "", fmt.Errorf("list host addresses: %w", err)
	}
	for _, a := range addrs {
		p, ok := prefixOf(a.IPNet)
		if ok && p.Overlaps(subnet) {
			name := "?"
			if l, err := netlink.LinkByIndex(a.LinkIndex); err == nil {
				name = l.Attrs().Name
			}
			return fmt.Sprintf("address %s on %s", p, name), nil
		}
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return "", fmt.Errorf("list host routes: %w", err)
	}
	for _, r := range routes {
		p, ok := prefixOf(r.Dst)
		if ok && p.Bits() > 0 && p.Overlaps(subnet) {
			return "route to " + p.String(), nil
		}
	}
	return "", nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP.To4())
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(a, bits).Masked(), true
}
