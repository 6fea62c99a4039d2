package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/api/machine"
	resourceapi "github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/pkg/machinery/client"
	resruntime "github.com/plinth-os/plinth/pkg/machinery/resources/runtime"
)

// powerPollInterval is how often a waiter asks a node that is down whether
// it is back; tests shorten it.
var powerPollInterval = time.Second

// powerAttemptTimeout bounds one such question.
const powerAttemptTimeout = 5 * time.Second

// powerWaitFlags are the flags of reboot, shutdown and reset.
type powerWaitFlags struct {
	// Wait follows the nodes until the action is done; default on for one node.
	Wait bool
	// Timeout bounds the wait.
	Timeout time.Duration
}

func (p *powerWaitFlags) add(fs *pflag.FlagSet) {
	fs.BoolVar(&p.Wait, "wait", true, "show progress until the action is done (default only with one node)")
	fs.DurationVar(&p.Timeout, "timeout", 10*time.Minute, "with --wait, give up after this long")
}

// enabled says whether to wait: asked for, and either one node or --wait given explicitly.
func (p *powerWaitFlags) enabled(cmd *cobra.Command, nc *nodeConn) bool {
	return p.Wait && (len(nc.nodes) <= 1 || cmd.Flags().Changed("wait"))
}

// powerGoal is what a power action ends in.
type powerGoal struct {
	// verb names the action: "reboot", "shutdown", "reset".
	verb string
	// back is true when the node comes back; false when it goes down.
	back bool
	// stages are the MachineStatus stages that count as back.
	stages []resruntime.Stage
}

// reached reports whether a node in stage counts as back.
func (g powerGoal) reached(stage resruntime.Stage, ready bool) bool {
	return slices.Contains(g.stages, stage) && (ready || stage == resruntime.StageMaintenance)
}

// powerAction calls the action's RPC with ctx and returns each node's item metadata.
type powerAction func(ctx context.Context, c *client.Client) ([]*common.Metadata, error)

// metadataOf lists the metadata of fan-out items.
func metadataOf[T interface{ GetMetadata() *common.Metadata }](msgs []T) []*common.Metadata {
	out := make([]*common.Metadata, len(msgs))
	for i, m := range msgs {
		out[i] = m.GetMetadata()
	}
	return out
}

// runPower calls action on the nodes and, with --wait, follows each node
// to the goal, printing its progress.
func runPower(cmd *cobra.Command, g *globalFlags, wf *powerWaitFlags, goal powerGoal, action powerAction) error {
	nc, err := connect(cmd, g)
	if err != nil {
		return err
	}
	defer nc.close()
	if !wf.enabled(cmd, nc) {
		return requestPower(cmd, nc, goal, action)
	}
	return waitPower(cmd, nc, wf, goal, action)
}

// requestPower calls action and prints which nodes accepted it.
func requestPower(cmd *cobra.Command, nc *nodeConn, goal powerGoal, action powerAction) error {
	mds, err := action(nc.fanOut(cmd.Context()), nc.c)
	if err != nil {
		return nc.callError(goal.verb, err)
	}
	fails := &failures{out: cmd.ErrOrStderr()}
	for _, md := range mds {
		if !fails.check(nc, md) {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s requested\n", nc.name(md), goal.verb)
		}
	}
	return fails.err()
}

// waitPower subscribes to each node's events, calls action and follows
// every node that accepted it until the goal, concurrently.
func waitPower(cmd *cobra.Command, nc *nodeConn, wf *powerWaitFlags, goal powerGoal, action powerAction) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), wf.Timeout)
	defer cancel()
	out := &lineWriter{w: cmd.OutOrStdout()}
	waiters := map[string]*nodeWaiter{}
	for _, node := range nc.targets() {
		w := &nodeWaiter{nc: nc, node: node, name: nc.nameOf(node), addr: node, goal: goal, out: out, timeout: wf.Timeout}
		if node == "" {
			w.addr = nc.c.Endpoints()[0]
		}
		w.subscribe(ctx) // before the action, not to miss its first events
		defer w.cancel()
		waiters[node] = w
	}
	mds, err := action(nc.fanOut(cmd.Context()), nc.c)
	if err != nil {
		return nc.callError(goal.verb, err)
	}
	fails := &failures{out: cmd.ErrOrStderr()}
	var wg sync.WaitGroup
	for _, md := range mds {
		w := waiters[md.GetNode()]
		if w == nil && len(waiters) == 1 { // the node named itself otherwise
			w = waiters[nc.targets()[0]]
		}
		if !fails.check(nc, md) && w != nil {
			wg.Go(func() { w.err = w.run(ctx) })
		}
	}
	wg.Wait()
	for _, node := range nc.targets() {
		if w := waiters[node]; w.err != nil {
			fails.failed(w.name, w.err)
		}
	}
	return fails.err()
}

// nodeWaiter follows one node through a power action.
//
//	subscribe ─▶ action ─▶ events until the stream breaks (down)
//	   ─▶ [goal back] poll Version ─▶ MachineStatus reached? ─▶ back
//	                                   └─ no: follow boot events until reached
type nodeWaiter struct {
	nc      *nodeConn
	node    string // "" is the endpoint
	name    string
	addr    string // where to reach the node directly
	goal    powerGoal
	out     *lineWriter
	timeout time.Duration

	start     time.Time
	events    machine.MachineService_EventsClient
	streamErr error
	cancel    context.CancelFunc
	lastErr   error // why the node did not answer, last time
	maint     bool  // the node answered in maintenance mode
	err       error
}

// subscribe opens the node's event stream. The stream does not carry
// ctx's deadline (the node would end it with its own clock, a little
// early); it is cancelled when ctx ends, so that its end is seen as a
// timeout.
func (w *nodeWaiter) subscribe(ctx context.Context) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	w.cancel = func() {
		stop()
		cancel()
	}
	w.start = nowFunc()
	w.events, w.streamErr = w.nc.c.Machine.Events(w.nc.one(sctx, w.node), &machine.EventsRequest{})
}

func (w *nodeWaiter) run(ctx context.Context) error {
	defer w.cancel()
	if err := w.followDown(ctx); err != nil {
		return err
	}
	took := nowFunc().Sub(w.start).Round(time.Second)
	if !w.goal.back {
		w.out.printf("node %s is down (took %s)", w.name, took)
		return nil
	}
	w.out.printf("%s: down, waiting for it to come back", w.name)
	if err := w.waitBack(ctx); err != nil {
		return err
	}
	took = nowFunc().Sub(w.start).Round(time.Second)
	if w.maint {
		w.out.printf("node %s is back in maintenance mode (took %s)", w.name, took)
	} else {
		w.out.printf("node %s is back (took %s)", w.name, took)
	}
	return nil
}

// followDown prints the node's events until its stream breaks.
func (w *nodeWaiter) followDown(ctx context.Context) error {
	if w.streamErr != nil {
		return w.pollDown(ctx)
	}
	for {
		ev, err := w.events.Recv()
		if ctx.Err() != nil {
			return fmt.Errorf("still up after %s", w.timeout)
		}
		if err != nil || ev.GetMetadata().GetError() != "" {
			return nil
		}
		w.print(ev)
	}
}

// pollDown asks the node for its version until it stops answering; for
// nodes whose events cannot be followed.
func (w *nodeWaiter) pollDown(ctx context.Context) error {
	for w.answers(ctx) {
		if err := sleepCtx(ctx, powerPollInterval); err != nil {
			return fmt.Errorf("still up after %s", w.timeout)
		}
	}
	return nil
}

// waitBack polls the node until it answers and its MachineStatus reaches
// the goal, printing its boot events meanwhile.
func (w *nodeWaiter) waitBack(ctx context.Context) error {
	seen := map[string]bool{}
	for {
		w.nc.c.ResetConnectBackoff()
		if w.answers(ctx) || w.answersInMaintenance(ctx) {
			if stage, ready := w.status(ctx); w.goal.reached(stage, ready) || w.followBoot(ctx, seen) {
				return nil
			}
		}
		if err := sleepCtx(ctx, powerPollInterval); err != nil {
			if w.lastErr != nil {
				return fmt.Errorf("not back after %s: %w", w.timeout, apiError{w.lastErr})
			}
			return fmt.Errorf("not back after %s", w.timeout)
		}
	}
}

// answers reports whether the node answers Version through the client.
func (w *nodeWaiter) answers(ctx context.Context) bool {
	actx, cancel := context.WithTimeout(ctx, powerAttemptTimeout)
	defer cancel()
	return w.version(actx, w.nc.c, w.node)
}

// answersInMaintenance reports whether the node, contacted directly without
// client certificate, answers as a node in maintenance mode: after a
// reset, it has no certificate from the OS CA any more.
func (w *nodeWaiter) answersInMaintenance(ctx context.Context) bool {
	if !slices.Contains(w.goal.stages, resruntime.StageMaintenance) {
		return false
	}
	c, err := client.New(ctx, client.WithEndpoints(w.addr), client.WithMaintenance(""))
	if err != nil {
		return false
	}
	defer c.Close() //nolint:errcheck // nothing to do about it
	actx, cancel := context.WithTimeout(ctx, powerAttemptTimeout)
	defer cancel()
	return w.version(actx, c, "") && w.maint
}

// version calls Version on node through c, noting maintenance mode.
func (w *nodeWaiter) version(ctx context.Context, c *client.Client, node string) bool {
	resp, err := c.Machine.Version(client.WithNode(ctx, node), &emptypb.Empty{})
	if err != nil {
		w.lastErr = err
		return false
	}
	msgs := resp.GetMessages()
	if len(msgs) == 0 || msgs[0].GetMetadata().GetError() != "" {
		if len(msgs) > 0 {
			w.lastErr = errors.New(msgs[0].GetMetadata().GetError())
		}
		return false
	}
	w.maint = msgs[0].GetMaintenance()
	return true
}

// status reads the node's MachineStatus. When the node cannot say, the
// answer to Version stands for it: maintenance, or running.
func (w *nodeWaiter) status(ctx context.Context) (resruntime.Stage, bool) {
	if w.maint {
		return resruntime.StageMaintenance, true
	}
	actx, cancel := context.WithTimeout(ctx, powerAttemptTimeout)
	defer cancel()
	resp, err := w.nc.c.Resources.Get(w.nc.one(actx, w.node), &resourceapi.GetRequest{
		Namespace: resruntime.NamespaceName, Type: resruntime.MachineStatusType, Id: resruntime.MachineStatusID,
	})
	if err != nil || len(resp.GetMessages()) == 0 || resp.GetMessages()[0].GetMetadata().GetError() != "" {
		return resruntime.StageRunning, true
	}
	var spec resruntime.MachineStatusSpec
	if err := yaml.Unmarshal(resp.GetMessages()[0].GetResource().GetSpec(), &spec); err != nil {
		return resruntime.StageRunning, true
	}
	return spec.Stage, spec.Ready
}

// followBoot prints the node's events since it booted (each once) and
// those that follow, until its status reaches the goal (true) or the
// stream breaks (false).
func (w *nodeWaiter) followBoot(ctx context.Context, seen map[string]bool) bool {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := w.nc.c.Machine.Events(w.nc.one(sctx, w.node), &machine.EventsRequest{TailEvents: -1})
	if err != nil {
		return false
	}
	for {
		ev, err := stream.Recv()
		if err != nil || ev.GetMetadata().GetError() != "" {
			return false
		}
		if seen[ev.GetId()] {
			continue
		}
		seen[ev.GetId()] = true
		w.print(ev)
		if s := ev.GetStatus(); s != nil && w.goal.reached(resruntime.Stage(s.GetStage()), s.GetReady()) {
			return true
		}
	}
}

// print shows one event as progress.
func (w *nodeWaiter) print(ev *machine.Event) {
	typ, details := eventDetails(ev)
	w.out.printf("%s: %s %s", w.name, typ, details)
}

// sleepCtx waits d, or returns ctx's error when it ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
