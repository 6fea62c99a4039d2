//go:build linux

// Package netlink is machined's view of the kernel's network stack: links,
// addresses and routes read and changed over rtnetlink (through
// github.com/vishvananda/netlink), reduced to the plain types below so that
// controllers depend on small interfaces and test against fakes.
//
// A Handle works in one network namespace: the caller's (Open) or a given
// one (OpenIn, used by root tests in a fresh namespace).
package netlink

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	nl "github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Handle talks rtnetlink in one network namespace.
type Handle struct {
	h     *nl.Handle
	ns    netns.NsHandle // netns.None() for the caller's namespace
	sysfs string         // /sys/class/net, to find device-backed links
}

// Open returns a handle on the caller's network namespace.
func Open() (*Handle, error) {
	h, err := nl.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return &Handle{h: h, ns: netns.None(), sysfs: "/sys/class/net"}, nil
}

// OpenIn returns a handle on the namespace ns. Links are physical there
// only when they are plain devices (sysfs shows the caller's namespace).
func OpenIn(ns netns.NsHandle) (*Handle, error) {
	h, err := nl.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return &Handle{h: h, ns: ns}, nil
}

// Close releases the handle's sockets.
func (h *Handle) Close() { h.h.Close() }

// retries bounds the re-reads of a dump the kernel interrupted.
const retries = 5

// dump retries fn while the kernel reports an interrupted dump.
func dump[T any](what string, fn func() ([]T, error)) ([]T, error) {
	var err error
	for range retries {
		var out []T
		if out, err = fn(); !errors.Is(err, nl.ErrDumpInterrupted) {
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", what, err)
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("list %s: %w", what, err)
}

// Links lists the links.
func (h *Handle) Links() ([]Link, error) {
	links, err := dump("links", h.h.LinkList)
	if err != nil {
		return nil, err
	}
	out := make([]Link, 0, len(links))
	for _, l := range links {
		out = append(out, h.convertLink(l))
	}
	return out, nil
}

func (h *Handle) convertLink(l nl.Link) Link {
	a := l.Attrs()
	kind := l.Type()
	if a.Flags&net.FlagLoopback != 0 {
		kind = "loopback"
	}
	return Link{
		Index: a.Index, Name: a.Name, HardwareAddr: strings.ToLower(a.HardwareAddr.String()),
		Kind: kind, Physical: kind == "device" && a.EncapType == "ether" && h.hasDevice(a.Name),
		Up: a.Flags&net.FlagUp != 0, OperState: a.OperState.String(), MTU: a.MTU,
	}
}

// hasDevice reports whether sysfs shows a device behind the link. Without
// sysfs (another namespace, or not mounted) every plain device counts.
func (h *Handle) hasDevice(name string) bool {
	if h.sysfs == "" {
		return true
	}
	if _, err := os.Stat(h.sysfs); err != nil {
		return true
	}
	_, err := os.Stat(filepath.Join(h.sysfs, name, "device"))
	return err == nil
}

func (h *Handle) link(name string) (nl.Link, error) {
	l, err := h.h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("link %s: %w", name, err)
	}
	return l, nil
}

// SetUp brings the link up.
func (h *Handle) SetUp(name string) error {
	l, err := h.link(name)
	if err != nil {
		return err
	}
	if err := h.h.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// SetMTU sets the link's MTU.
func (h *Handle) SetMTU(name string, mtu int) error {
	l, err := h.link(name)
	if err != nil {
		return err
	}
	if err := h.h.LinkSetMTU(l, mtu); err != nil {
		return fmt.Errorf("set MTU of %s to %d: %w", name, mtu, err)
	}
	return nil
}

// IsNotFound reports whether err says a link does not exist.
func IsNotFound(err error) bool {
	var nf nl.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}
