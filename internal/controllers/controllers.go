// Package controllers gathers machined's controllers and the definitions of
// the resources they write. Each domain lives in its own package below
// (config, network, files, secrets); this package only wires them:
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
	"slices"
	"time"

	"google.golang.org/grpc"

	"github.com/plinth-os/plinth/internal/controllers/config"
	"github.com/plinth-os/plinth/internal/controllers/files"
	"github.com/plinth-os/plinth/internal/controllers/network"
	"github.com/plinth-os/plinth/internal/controllers/secrets"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	resconfig "github.com/plinth-os/plinth/pkg/machinery/resources/config"
	resfiles "github.com/plinth-os/plinth/pkg/machinery/resources/files"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
	ressecrets "github.com/plinth-os/plinth/pkg/machinery/resources/secrets"
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

	return []runtime.Controller{
		config.MachineTypeController{},
		&network.NodeAddressController{Addresses: d.Addresses, PollInterval: d.AddressPollInterval},
		&network.HostnameController{Root: d.Root, Mode: d.Mode, MachineID: d.MachineID, SetHostname: d.SetHostname},
		&network.EtcHostsController{Root: d.Root, Mode: d.Mode},
		&files.StaticFilesController{Root: d.Root},
		files.EnvironmentController{},
		&secrets.APICertsController{Root: d.Root, Now: d.Now, DialTrustd: d.DialTrustd},
	}
}

// Definitions returns the definitions of every resource type under
// pkg/machinery/resources except runtime/, whose owner registers its own.
func Definitions() []resource.Definition {
	var out []resource.Definition

	for _, defs := range [][]resource.Definition{
		resconfig.Definitions, resnet.Definitions, resfiles.Definitions, ressecrets.Definitions,
	} {
		for _, d := range defs {
			out = append(out, d.DeepCopy())
		}
	}

	return slices.Clip(out)
}
