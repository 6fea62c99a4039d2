// Command kube is Plinth's multi-call Kubernetes binary: one static program
// holding kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
// kube-proxy from k8s.io/kubernetes, so their shared code (client-go, the API
// machinery, the protobuf and OpenAPI tables) is stored once in the node
// image.
//
// The component is chosen by the base name it is run as (a symlink such as
// /usr/bin/kubelet -> kube), or else by its first argument:
//
//	kubelet --config=...
//	kube kube-apiserver --etcd-servers=...
//
// Either way the component sees os.Args as [name, flags...], exactly as if it
// were its own program: kubelet, for one, names its flag set after os.Args[0].
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric

	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"

	_ "time/tzdata" // CronJob time zones without /usr/share/zoneinfo on the node
)

// components maps each program name to the constructor of its command, as
// each component's own main package calls it.
var components = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
	"kube-proxy":              proxy.NewProxyCommand,
}

func main() {
	name, args, ok := dispatch(os.Args)
	if !ok {
		usage()
		os.Exit(2)
	}
	os.Args = append([]string{name}, args...)
	os.Exit(cli.Run(components[name]()))
}

// dispatch picks the component from argv: its base name when that names a
// component, else its first argument. It returns the component's name and
// the arguments meant for it.
func dispatch(argv []string) (name string, args []string, ok bool) {
	if len(argv) == 0 {
		return "", nil, false
	}
	if base := filepath.Base(argv[0]); components[base] != nil {
		return base, argv[1:], true
	}
	if len(argv) > 1 && components[argv[1]] != nil {
		return argv[1], argv[2:], true
	}
	return "", nil, false
}

func usage() {
	names := make([]string, 0, len(components))
	for n := range components {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(os.Stderr, "usage: kube COMPONENT [flags...]   (or run it through a symlink named COMPONENT)")
	fmt.Fprintln(os.Stderr, "components:")
	for _, n := range names {
		fmt.Fprintln(os.Stderr, "  "+n)
	}
}
