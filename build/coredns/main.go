// Command coredns is Plinth's cluster DNS: CoreDNS from
// github.com/coredns/coredns, built with only the plugins a Kubernetes
// cluster's Corefile uses (see plugins). Fewer plugins mean a smaller
// binary and image and fewer cloud SDKs linked into the node image.
//
// CoreDNS's own main imports every plugin through core/plugin; this one
// imports the chosen plugins and narrows the directive list to them, so a
// Corefile naming any other plugin fails to load with "unknown directive".
package main

import (
	"fmt"
	"os"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	// The plugins, each registering itself in its init.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/rewrite"
	_ "github.com/coredns/coredns/plugin/whoami"
)

// plugins are the directives this build knows, in CoreDNS's execution order
// (the order of its plugin.cfg; main_test.go checks it). It covers the
// Corefile kubeadm and most distributions deploy (errors, health, ready,
// kubernetes, prometheus, forward, cache, loop, reload, loadbalance) plus
// log, bind, hosts, rewrite and whoami for debugging and common edits.
var plugins = []string{
	"reload",
	"bind",
	"ready",
	"health",
	"prometheus",
	"errors",
	"log",
	"loadbalance",
	"rewrite",
	"cache",
	"hosts",
	"kubernetes",
	"loop",
	"forward",
	"whoami",
}

func main() {
	if err := dnsserver.SetDirectives(plugins); err != nil {
		fmt.Fprintln(os.Stderr, "coredns:", err)
		os.Exit(1)
	}
	coremain.Run()
}
