package machined

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/plinth-os/plinth/internal/app/machined/apply"
	"github.com/plinth-os/plinth/internal/app/machined/configstore"
	"github.com/plinth-os/plinth/internal/app/machined/events"
	"github.com/plinth-os/plinth/internal/app/machined/maintenance"
	"github.com/plinth-os/plinth/internal/app/machined/power"
	"github.com/plinth-os/plinth/internal/app/machined/sequencer"
	"github.com/plinth-os/plinth/internal/app/machined/server"
	"github.com/plinth-os/plinth/internal/app/machined/services"
	"github.com/plinth-os/plinth/internal/controllers"
	"github.com/plinth-os/plinth/internal/controllers/network"
	"github.com/plinth-os/plinth/internal/install"
	"github.com/plinth-os/plinth/internal/runtime/inmem"
	"github.com/plinth-os/plinth/internal/supervisor"
	"github.com/plinth-os/plinth/internal/supervisor/logs"
	"github.com/plinth-os/plinth/internal/supervisor/reaper"
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// stopTimeout bounds stopping the services and servers when machined ends.
const stopTimeout = 2 * time.Minute

// machined is one run of the node's manager.
type machined struct {
	opts     Options
	logger   *slog.Logger
	state    *inmem.State
	registry *resource.Registry
	events   *events.Ring
	seq      *sequencer.Sequencer
	sup      *supervisor.Supervisor
	history  *history
	applier  *apply.Applier
	store    *configstore.Store
	power    power.Actions
	reaper   *reaper.Reaper
	metal    *metalSystem // nil unless PID 1 on metal

	machineAPI  *server.Machine
	resourceAPI *server.Resources
	unixServer  *grpc.Server

	life context.Context // ends when machined exits
	exit context.CancelFunc
	wg   sync.WaitGroup // background goroutines, waited for at exit

	mu          sync.Mutex
	stage       rtres.Stage
	apidRunning bool
	boot        *loaded // the config the boot continues with
	maint       *maintenance.Server
	machineID   string
	sys         *install.System // the installed system disk; nil on a live boot
	bootSlot    install.Slot    // the boot slot running (plinth.slot=; none on a live boot)

	upgrading sync.Mutex // held while an upgrade or rollback writes
}

// loaded is a validated config and its bytes.
type loaded struct {
	cfg *config.Config
	raw []byte
}

// Run runs machined until ctx is done (then the shutdown sequence runs)
// or a shutdown powers the node off. It fails only when machined cannot
// start; a failed boot is reported in events and logs, and the API stays
// up.
func Run(ctx context.Context, opts Options) error {
	m, err := newMachined(withDefaults(opts))
	if err != nil {
		return err
	}
	defer m.cleanup()
	if err := m.startAPI(); err != nil {
		return err
	}
	m.startConsole()
	if reaper.ShouldReap(false) {
		m.reaper = reaper.New(m.logger)
		m.wg.Go(func() { _ = m.reaper.Run(m.life) })
	}
	if err := m.startSequence(m.bootSequence()); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		m.logger.Info("termination requested")
		sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := m.seq.Preempt(sctx, m.shutdownSequence()); err != nil {
			m.logger.Error("shutdown failed", "error", err)
		}
	case <-m.life.Done():
	}
	return nil
}

func withDefaults(opts Options) Options {
	if opts.Root == "" {
		opts.Root = "/"
	}
	if opts.Mode == "" {
		opts.Mode = validation.ModeMetal
	}
	if opts.MaintenanceListen == "" {
		opts.MaintenanceListen = fmt.Sprintf(":%d", constants.ApidPort)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Console == nil {
		opts.Console = os.Stdout
	}
	if opts.ProcRoot == "" {
		opts.ProcRoot = "/proc"
	}
	return opts
}

func newMachined(opts Options) (*machined, error) {
	m := &machined{
		opts:     opts,
		logger:   opts.Logger.With("component", "machined"),
		state:    inmem.New(),
		registry: resource.NewRegistry(),
		events:   events.New(0, nil),
		store:    configstore.New(opts.Root + constants.StateDir),
		history:  newHistory(),
		stage:    rtres.StageBooting,
	}
	m.life, m.exit = context.WithCancel(context.Background())
	m.metal = m.openMetal()
	if m.opts.Addresses == nil {
		m.opts.Addresses = m.metal.addresses()
	}
	if m.opts.Addresses == nil {
		m.opts.Addresses = network.InterfaceAddresses
	}
	if err := m.registry.Register(append(controllers.Definitions(), rtres.Definitions...)...); err != nil {
		return nil, fmt.Errorf("machined: %w", err)
	}
	m.seq = sequencer.New(m.events, opts.Logger)
	m.sup = supervisor.New(supervisor.Options{
		Logger: opts.Logger,
		Logs:   logs.Options{Dir: opts.Root + constants.LogDir, Logger: opts.Logger},
		Observer: &services.Observer{State: m.state, Events: m.events, Logger: opts.Logger,
			OnChange: m.serviceChanged},
	})
	m.applier = apply.New(apply.Options{
		Mode: opts.Mode, Store: m.store, Node: m, Events: m.events, Logger: opts.Logger,
	})
	m.power = m.defaultPower()
	m.machineAPI = server.NewMachine(server.MachineOptions{
		Node: m, Services: m.sup, Events: m.events, Inspector: m.inspector(),
		History: m.history.get, Kubernetes: m.kubernetesAPI(), Bootstrap: m.bootstrap, Upgrader: m, Logger: opts.Logger,
	})
	m.resourceAPI = server.NewResources(m.state, m.registry, opts.Logger)
	return m, nil
}

func (m *machined) defaultPower() power.Actions {
	switch {
	case m.opts.Power != nil:
		return m.opts.Power
	case m.opts.Mode == validation.ModeContainer:
		return power.NewContainer(m.opts.Binary, m.opts.Args, m.exit)
	case m.metal == nil:
		return power.Refuse{Reason: "machined is not PID 1: it does not power this machine"}
	}
	return power.Metal{Logger: m.opts.Logger, ProcRoot: m.opts.ProcRoot}
}

// startSequence starts seq in the background, for the machine's lifetime.
func (m *machined) startSequence(seq sequencer.Sequence) error {
	result, err := m.seq.Start(m.life, seq)
	if err != nil {
		return err
	}
	m.wg.Go(func() {
		if err := <-result; err != nil {
			m.logger.Error("sequence failed", "sequence", seq.Name, "error", err)
		}
	})
	return nil
}

// cleanup stops everything Run started and waits for it.
func (m *machined) cleanup() {
	m.exit()
	m.applier.Clear() // no try-mode rollback after exit
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := m.sup.StopAll(ctx); err != nil {
		m.logger.Error("stop services failed", "error", err)
	}
	m.stopMaintenance()
	if m.unixServer != nil {
		m.unixServer.Stop()
	}
	m.wg.Wait()
	m.metal.close()
	m.removeSocket()
	m.logger.Info("machined stopped")
}

// addrs returns the node's addresses without prefix lengths.
func (m *machined) addrs() ([]netip.Addr, error) {
	prefixes, err := m.opts.Addresses()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, len(prefixes))
	for i, p := range prefixes {
		out[i] = p.Addr()
	}
	return out, nil
}

// history keeps each service's recent state changes for ServiceList.
type history struct {
	mu     sync.Mutex
	events map[string][]supervisor.ServiceEvent
}

// historySize is how many changes are kept per service.
const historySize = 16

func newHistory() *history { return &history{events: map[string][]supervisor.ServiceEvent{}} }

func (h *history) add(e supervisor.ServiceEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	list := append(h.events[e.ID], e)
	if len(list) > historySize {
		list = list[len(list)-historySize:]
	}
	h.events[e.ID] = list
}

func (h *history) get(id string) []supervisor.ServiceEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]supervisor.ServiceEvent(nil), h.events[id]...)
}

var errNoConfig = errors.New("no machine config")
