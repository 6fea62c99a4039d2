package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/internal/supervisor"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
	resfiles "github.com/plinth-os/plinth/pkg/machinery/resources/files"
	rtres "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// DefaultStopTimeout bounds stopping one service (and its dependents)
// when its ServiceConfig changes or goes away.
const DefaultStopTimeout = 2 * time.Minute

// ConfigReconciler makes the supervisor run what the ServiceConfig
// resources ask for. It is a controller (inputs: ServiceConfigs and the
// machine Environment; no outputs): the Service resources come from the
// supervisor's Observer as for every other service.
//
//	ServiceConfig created ──▶ Load ──▶ Launch (once its dependencies are loaded)
//	spec or environment changed ──▶ Stop (with dependents) ──▶ Load new ──▶ Launch again
//	ServiceConfig destroyed or tearing down ──▶ Stop (with dependents; those
//	                                              still wanted start again)
//
// A service that depends on one not yet asked for waits, loaded, until a
// later run finds its dependency. Ids of services machined runs itself
// (apid, trustd) are refused.
type ConfigReconciler struct {
	// Supervisor runs the services.
	Supervisor *supervisor.Supervisor
	// Options say how the processes run.
	Options RunOptions
	// Active reports whether services may start now (false while the node
	// shuts down, or when machined runs without services); nil: always.
	// Stops happen regardless.
	Active func() bool
	// StopTimeout bounds one stop; DefaultStopTimeout when zero.
	StopTimeout time.Duration

	// loaded is what was loaded per service id, by this reconciler, for
	// the ServiceConfigs that exist.
	loaded map[string]*want
	// mine holds every id this reconciler ever loaded (the supervisor
	// keeps stopped services loaded).
	mine map[string]bool
}

// want is a service as asked for: its spec and the machine environment.
type want struct {
	spec     rtres.ServiceConfigSpec
	env      []string
	launched bool
}

func (w *want) same(o *want) bool {
	return reflect.DeepEqual(w.spec, o.spec) && slices.Equal(w.env, o.env)
}

// Name implements runtime.Controller.
func (*ConfigReconciler) Name() string { return "services.ConfigReconciler" }

// Inputs implements runtime.Controller.
func (*ConfigReconciler) Inputs() []runtime.Input {
	return []runtime.Input{
		{Namespace: rtres.NamespaceName, Type: rtres.ServiceConfigType},
		{Namespace: resfiles.NamespaceName, Type: resfiles.EnvironmentType, ID: resfiles.EnvironmentID},
	}
}

// Outputs implements runtime.Controller: none, the supervisor's observer
// writes the Service resources.
func (*ConfigReconciler) Outputs() []runtime.Output { return nil }

// Run implements runtime.Controller.
func (c *ConfigReconciler) Run(ctx context.Context, r runtime.ControllerRuntime, logger *slog.Logger) error {
	if c.loaded == nil {
		c.loaded, c.mine = map[string]*want{}, map[string]bool{}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.EventCh():
		}
		if err := c.reconcile(ctx, r, logger); err != nil {
			return err
		}
	}
}

// reconcile brings the supervisor to the desired services.
func (c *ConfigReconciler) reconcile(ctx context.Context, r runtime.Reader, logger *slog.Logger) error {
	desired, err := c.desired(ctx, r)
	if err != nil {
		return err
	}
	states := c.states()
	var errs []error
	var restart []string // stopped here as dependents, to start again

	for _, id := range sortedKeys(c.loaded) {
		if _, ok := desired[id]; ok {
			continue
		}
		logger.Info("service no longer asked for: stopping it", "service", id)
		stopped, err := c.stop(ctx, id, states)
		errs = append(errs, err)
		restart = append(restart, stopped...)
		delete(c.loaded, id)
	}

	for _, id := range sortedKeys(desired) {
		w := desired[id]
		cur, ok := c.loaded[id]
		if ok && cur.same(w) {
			continue
		}
		if !ok && !c.mine[id] {
			if _, theirs := states[id]; theirs {
				errs = append(errs, fmt.Errorf("service config %s: the service is machined's own", id))
				continue
			}
		}
		if ok && cur.launched {
			logger.Info("service config changed: restarting", "service", id)
			stopped, err := c.stop(ctx, id, states)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			restart = append(restart, stopped...)
		}
		if err := c.Supervisor.Load(newService(id, w.spec, w.env, c.Options)); err != nil {
			errs = append(errs, fmt.Errorf("service config %s: %w", id, err))
			continue
		}
		c.loaded[id], c.mine[id] = w, true
	}

	errs = append(errs, c.launch(desired, restart, logger))
	return errors.Join(errs...)
}

// launch starts the loaded services not started yet, and those stopped
// as dependents, once all their dependencies are loaded.
func (c *ConfigReconciler) launch(desired map[string]*want, restart []string, logger *slog.Logger) error {
	for _, id := range restart {
		if w, ok := c.loaded[id]; ok {
			w.launched = false
		}
	}
	if c.Active != nil && !c.Active() {
		return nil
	}
	states := c.states()
	var errs []error
	for _, id := range sortedKeys(c.loaded) {
		w := c.loaded[id]
		if w.launched {
			continue
		}
		if missing := c.missingDeps(w.spec.DependsOn, desired, states); len(missing) > 0 {
			logger.Info("service waits for services not asked for yet", "service", id, "missing", missing)
			continue
		}
		if err := c.Supervisor.Launch(id); err != nil {
			errs = append(errs, fmt.Errorf("service config %s: %w", id, err))
			continue
		}
		w.launched = true
	}
	return errors.Join(errs...)
}

// missingDeps returns the dependencies that are neither asked for nor
// machined's own services.
func (c *ConfigReconciler) missingDeps(deps []string, desired map[string]*want, states map[string]supervisor.State) []string {
	var missing []string
	for _, d := range deps {
		if _, ok := desired[d]; ok {
			if _, loaded := c.loaded[d]; loaded {
				continue
			}
		} else if _, ok := states[d]; ok && !c.mine[d] {
			continue
		}
		missing = append(missing, d)
	}
	return missing
}

// stop stops id and its dependents; it returns the dependents among the
// reconciler's services that it stopped, so they can start again.
func (c *ConfigReconciler) stop(ctx context.Context, id string, before map[string]supervisor.State) ([]string, error) {
	timeout := c.StopTimeout
	if timeout <= 0 {
		timeout = DefaultStopTimeout
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.Supervisor.Stop(sctx, id); err != nil {
		return nil, fmt.Errorf("stop service %s: %w", id, err)
	}
	after := c.states()
	var stopped []string
	for other, w := range c.loaded {
		if other == id || !w.launched {
			continue
		}
		if before[other] != supervisor.Stopped && after[other] == supervisor.Stopped {
			stopped = append(stopped, other)
		}
	}
	return stopped, nil
}

// states returns the state of every service the supervisor has loaded.
func (c *ConfigReconciler) states() map[string]supervisor.State {
	out := map[string]supervisor.State{}
	for _, info := range c.Supervisor.List() {
		out[info.ID] = info.State
	}
	return out
}

// desired reads the ServiceConfigs that are running and the environment.
func (c *ConfigReconciler) desired(ctx context.Context, r runtime.Reader) (map[string]*want, error) {
	env, err := machineEnv(ctx, r)
	if err != nil {
		return nil, err
	}
	items, err := r.List(ctx, rtres.NamespaceName, rtres.ServiceConfigType)
	if err != nil {
		return nil, fmt.Errorf("list service configs: %w", err)
	}
	out := make(map[string]*want, len(items))
	for _, item := range items {
		if item.Metadata().Phase == resource.PhaseTearingDown {
			continue
		}
		sc, ok := item.(*rtres.ServiceConfig)
		if !ok {
			return nil, fmt.Errorf("service config %s: stored resource is %T", item.Metadata().ID, item)
		}
		out[item.Metadata().ID] = &want{spec: *sc.TypedSpec(), env: env}
	}
	return out, nil
}

// machineEnv returns the Environment resource as sorted KEY=VALUE.
func machineEnv(ctx context.Context, r runtime.Reader) ([]string, error) {
	res, err := r.Get(ctx, resfiles.NewEnvironment().Metadata().Ref())
	if errors.Is(err, runtime.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read environment: %w", err)
	}
	env, ok := res.(*resfiles.Environment)
	if !ok {
		return nil, fmt.Errorf("read environment: stored resource is %T", res)
	}
	out := make([]string, 0, len(env.TypedSpec().Variables))
	for k, v := range env.TypedSpec().Variables {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
