package main

import (
	"testing"

	"github.com/coredns/coredns/core/dnsserver"
)

// TestPluginOrder checks that plugins follows the order of CoreDNS's full
// directive list (which SetDirectives has not replaced in a test binary):
// the order in which plugins see a query is the order of this list.
func TestPluginOrder(t *testing.T) {
	position := make(map[string]int, len(dnsserver.Directives))
	for i, d := range dnsserver.Directives {
		position[d] = i
	}
	last := -1
	for _, p := range plugins {
		i, ok := position[p]
		if !ok {
			t.Fatalf("plugin %q is not a CoreDNS directive", p)
		}
		if i < last {
			t.Errorf("plugin %q is out of CoreDNS's order", p)
		}
		last = i
	}
}
