//go:build linux

package netlink

import (
	"context"
	"fmt"
	"runtime"

	nl "github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Watch sends on notify (without blocking: a pending notification is
// enough) whenever a link or an address changes, until ctx is done. It
// returns once the subscriptions are closed; an error means they could not
// be set up, or broke (callers then fall back to polling).
func (h *Handle) Watch(ctx context.Context, notify chan<- struct{}) error {
	done := make(chan struct{})
	links := make(chan nl.LinkUpdate, 16)
	addrs := make(chan nl.AddrUpdate, 16)
	ns := h.ns
	if err := nl.LinkSubscribeWithOptions(links, done, nl.LinkSubscribeOptions{Namespace: &ns}); err != nil {
		close(done)
		return fmt.Errorf("subscribe to links: %w", err)
	}
	if err := nl.AddrSubscribeWithOptions(addrs, done, nl.AddrSubscribeOptions{Namespace: &ns}); err != nil {
		close(done)
		drain(links)
		return fmt.Errorf("subscribe to addresses: %w", err)
	}
	poke := func() {
		select {
		case notify <- struct{}{}:
		default:
		}
	}
	var err error
	for links != nil || addrs != nil {
		select {
		case <-ctx.Done():
			close(done)
			drain(links)
			drain(addrs)
			return nil
		case _, ok := <-links:
			if !ok {
				links, err = nil, fmt.Errorf("link subscription ended")
			}
			poke()
		case _, ok := <-addrs:
			if !ok {
				addrs, err = nil, fmt.Errorf("address subscription ended")
			}
			poke()
		}
		if err != nil {
			close(done)
			drain(links)
			drain(addrs)
			return err
		}
	}
	return nil
}

// drain reads ch until the subscription's goroutine closes it.
func drain[T any](ch <-chan T) {
	if ch == nil {
		return
	}
	for range ch { //nolint:revive // emptying the channel
	}
}

// Do runs fn on a locked OS thread inside the network namespace ns, so
// that sockets fn opens live in ns; the thread returns to the caller's
// namespace afterwards. Should that return fail, the thread stays locked
// (the runtime retires it when the goroutine ends) and Do says so.
func Do(ns netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("current network namespace: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace: %w", err)
	}
	fnErr := fn()
	if err := netns.Set(orig); err != nil {
		return fmt.Errorf("return to the original network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return fnErr
}
