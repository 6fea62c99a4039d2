package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// inputBuffer is the channel size between a watch and its forwarder.
const inputBuffer = 64

// watchInputs sets up one watch per input; forwarders run in wg until ctx
// is cancelled.
func (a *adapter) watchInputs(ctx context.Context, wg *sync.WaitGroup, logger *slog.Logger) error {
	for _, in := range a.inputs {
		ch, err := a.watch(ctx, in)
		if err != nil {
			return err
		}

		wg.Go(func() { a.forward(ctx, in, ch, logger) })
	}

	return nil
}

func (a *adapter) watch(ctx context.Context, in runtime.Input) (chan runtime.Event, error) {
	ch := make(chan runtime.Event, inputBuffer)

	var err error
	if in.ID != "" {
		err = a.state.Watch(ctx, resource.Ref{Namespace: in.Namespace, Type: in.Type, ID: in.ID}, ch)
	} else {
		err = a.state.WatchKind(ctx, in.Namespace, in.Type, ch)
	}

	if err != nil {
		return nil, fmt.Errorf("controller %s: watch input %s/%s: %w", a.name, in.Namespace, in.Type, err)
	}

	return ch, nil
}

// forward turns input events into triggers. When the watch ends with an
// error (it fell behind), forward watches again from now and triggers: the
// controller re-reads its inputs, so nothing is lost.
func (a *adapter) forward(ctx context.Context, in runtime.Input, ch chan runtime.Event, logger *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-ch:
			if ev.Type != runtime.Errored {
				if triggers(in, ev) {
					a.notify()
				}

				continue
			}

			logger.Warn("input watch restarted", "namespace", in.Namespace, "type", in.Type, "error", ev.Error)

			next, err := a.watch(ctx, in)
			if err != nil {
				logger.Error("input watch failed", "namespace", in.Namespace, "type", in.Type, "error", err)

				return
			}

			ch = next

			a.notify()
		}
	}
}

// triggers reports whether an input event should trigger the controller.
func triggers(in runtime.Input, ev runtime.Event) bool {
	if in.Kind != runtime.InputDestroyReady {
		return true
	}

	if ev.Type != runtime.Created && ev.Type != runtime.Updated {
		return false
	}

	md := ev.Resource.Metadata()

	return md.Phase == resource.PhaseTearingDown && !md.HasFinalizers()
}
