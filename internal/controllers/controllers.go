// Package controllers gathers machined's controllers and the definitions of
// the resources they write. Each domain lives in its own package below
// (config, network, files, secrets, time, kernel); this package only wires
// them:
//
//	for _, c := range controllers.All(deps) {
//		engine.Register(c)
//	}
//
// Everything that touches the host comes in through Deps, so the same
// controllers run on metal, in container mode and in tests.
package controllers

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"time"

	"google.golang.org/grpc"

	"github.com/plinth-os/plinth/internal/controllers/config"
	"github.com/plinth-os/plinth/internal/controllers/etcd"
	"github.com/plinth-os/plinth/internal/controllers/files"
	"github.com/plinth-os/plinth/internal/controllers/k8s"
	"github.com/plinth-os/plinth/internal/controllers/kernel"
	"github.com/plinth-os/plinth/internal/controllers/network"
	"github.com/plinth-os/plinth/internal/controllers/secrets"
	ctime "github.com/plinth-os/plinth/internal/controllers/time"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/sys/cmdline"
	"github.com/plinth-os/plinth/internal/sys/dhcp"
	"github.com/plinth-os/plinth/internal/sys/kmod"
	"github.com/plinth-os/plinth/internal/sys/ntp"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
	resetcd "github.com/plinth-os/plinth/pkg/machinery/resources/etcd"
	resfiles "github.com/plinth-os/plinth/pkg/machinery/resources/files"
	resk8s "github.com/plinth-os/plinth/pkg/machinery/resources/k8s"
	reskernel "github.com/plinth-os/plinth/pkg/machinery/resources/kernel"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
	ressecrets "github.com/plinth-os/plinth/pkg/machinery/resources/secrets"
	restime "github.com/plinth-os/plinth/pkg/machinery/resources/time"
)

// Deps are what controllers need from machined. Everything that touches the
// host is a function so tests and container mode can replace it.
type Deps struct {
	// Root is the file-system root: "/" on metal, a temp dir in tests;
	// every path written is joined to it.
	Root string
	// Mode is metal or container. In container mode /etc/hostname and
	// /etc/hosts are written in place (container runtimes bind-mount them).
	Mode validation.Mode
	// Logger logs the wiring itself; controllers log through the logger
	// the engine gives them. Nil discards.
	Logger *slog.Logger
	// SetHostname sets the kernel hostname; nil leaves the kernel alone
	// (only the resources and <Root>/etc/hostname change).
	SetHostname func(name string) error
	// Addresses returns the node's current addresses (container mode:
	// network.InterfaceAddresses; metal: netlink). Nil: no addresses.
	Addresses func() ([]netip.Prefix, error)
	// AddressPollInterval is how often Addresses is polled (default 5s).
	AddressPollInterval time.Duration
	// MachineID is the stable short id the default hostname is made from.
	MachineID string
	// DialTrustd connects a worker to trustd; nil: a real TLS dial
	// (secrets.DialTrustd).
	DialTrustd func(ctx context.Context, endpoint string, ca []byte) (grpc.ClientConnInterface, io.Closer, error)
	// Now is the clock of certificates; nil means time.Now.
	Now func() time.Time
	// Netlink is the kernel's network stack. On metal the link, address,
	// route, DHCP and resolv.conf controllers run over it; nil (container
	// mode, tests) leaves the network to whoever owns it.
	Netlink network.Netlink
	// OpenDHCP starts a DHCP client on a link; nil: no DHCP.
	OpenDHCP func(link string) (dhcp.Client, error)
	// KernelIP is the kernel's ip= argument; nil when absent.
	KernelIP *cmdline.IPConfig
	// KernelSysctls are the sysctls the kernel command line set, which
	// Plinth's defaults leave alone (cmdline.SysctlKeys).
	KernelSysctls []string
	// NTPQuery asks an NTP server for the clock's offset; with Clock nil
	// too, time sync is off (status "disabled").
	NTPQuery ctime.QueryFunc
	// Clock corrects the system clock (metal only).
	Clock ntp.Clock
	// LoadModule inserts a kernel module file (metal: kmod.Load). Set, the
	// image's Kubernetes modules and machine.kernel.modules are loaded
	// from the rootfs for KernelRelease, and containerd waits for them;
	// nil (container mode, tests) loads none.
	LoadModule kernel.ModuleLoader
	// KernelRelease is the running kernel's release (uname -r).
	KernelRelease string
}

// All returns every controller, ready to Register, wired to d.
func All(d Deps) []runtime.Controller {
	logger := d.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	if d.Addresses == nil {
		logger.Warn("no address source: node addresses stay empty", "component", "controllers")
	}

	var ip cmdline.IPConfig
	if d.KernelIP != nil {
		ip = *d.KernelIP
	}

	metal := d.Netlink != nil && d.Mode != validation.ModeContainer

	var watch network.WatchFunc
	if metal {
		watch = d.Netlink.Watch
	}

	all := []runtime.Controller{
		config.MachineTypeController{},
		&network.NodeAddressController{Addresses: d.Addresses, PollInterval: d.AddressPollInterval, Watch: watch},
		&network.HostnameController{
			Root: d.Root, Mode: d.Mode, MachineID: d.MachineID, SetHostname: d.SetHostname, KernelHostname: ip.Hostname,
		},
		&network.EtcHostsController{Root: d.Root, Mode: d.Mode},
		&files.StaticFilesController{Root: d.Root},
		files.EnvironmentController{},
		&secrets.APICertsController{Root: d.Root, Now: d.Now, DialTrustd: d.DialTrustd},
		&ctime.SyncController{Mode: d.Mode, Query: d.NTPQuery, Clock: d.Clock, KernelServers: addrStrings(ip.NTP)},
		&kernel.SysctlController{Root: d.Root, Mode: d.Mode, KeepDefaults: d.KernelSysctls},
	}
	if d.LoadModule != nil {
		sysModule := filepath.Join(d.Root, "sys", "module")
		all = append(all, &kernel.ModulesController{
			Root: d.Root, Release: d.KernelRelease, Load: d.LoadModule,
			Loaded: func(name string) bool { return kmod.IsLoaded(sysModule, name) },
		})
	}

	all = append(all, controlPlane(d)...)
	all = append(all, kubernetesNode(d)...)

	if !metal {
		return all
	}

	all = append(all,
		&network.LinkStatusController{Links: d.Netlink, Watch: d.Netlink.Watch},
		&network.NetworkConfigController{IP: d.KernelIP},
		&network.LinkApplyController{Links: d.Netlink},
		&network.AddressApplyController{Addresses: d.Netlink},
		&network.RouteApplyController{Routes: d.Netlink},
		&network.ResolvConfController{Root: d.Root, KernelNameservers: ip.DNS},
	)

	if d.OpenDHCP != nil {
		all = append(all, &network.DHCPController{Open: d.OpenDHCP})
	}

	return all
}

// controlPlane returns the controllers of etcd and the Kubernetes control
// plane (they do nothing on workers but for the cluster CA file).
func controlPlane(d Deps) []runtime.Controller {
	return []runtime.Controller{
		&k8s.PKIController{Root: d.Root, Now: d.Now},
		&etcd.PKIController{Root: d.Root, Now: d.Now},
		&etcd.ServiceController{Root: d.Root},
		k8s.ControlPlaneController{},
		k8s.ManifestsController{},
		&k8s.ManifestApplyController{Root: d.Root, Now: d.Now},
	}
}

// kubernetesNode returns the controllers of the node's Kubernetes
// components: containerd and its preloaded images, kubelet and the
// labels it may not set itself, kube-proxy, the CNI configuration and the
// pods' egress masquerade.
func kubernetesNode(d Deps) []runtime.Controller {
	return []runtime.Controller{
		&k8s.ContainerdController{Root: d.Root, Mode: d.Mode, WaitModules: d.LoadModule != nil},
		&k8s.ImagesController{Root: d.Root},
		&k8s.KubeletController{Root: d.Root, Mode: d.Mode},
		&k8s.NodeLabelsController{Root: d.Root},
		&k8s.ProxyController{Root: d.Root, Mode: d.Mode},
		&k8s.PodCIDRController{Root: d.Root},
		&k8s.CNIConfigController{Root: d.Root},
		&k8s.MasqueradeController{},
	}
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.String())
	}

	return out
}

// Definitions returns the definitions of every resource type under
// pkg/machinery/resources except runtime/, whose owner registers its own.
func Definitions() []resource.Definition {
	var out []resource.Definition

	for _, defs := range [][]resource.Definition{
		resconfig.Definitions, resnet.Definitions, resfiles.Definitions, ressecrets.Definitions,
		restime.Definitions, reskernel.Definitions, resetcd.Definitions, resk8s.ControlPlaneDefinitions, resk8s.NodeDefinitions,
	} {
		for _, d := range defs {
			out = append(out, d.DeepCopy())
		}
	}

	return slices.Clip(out)
}
