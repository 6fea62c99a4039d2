package machined

import (
	"fmt"
	"strings"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/internal/runtime"
	"github.com/plinth-os/plinth/pkg/machinery/config/validation"
	resnet "github.com/plinth-os/plinth/pkg/machinery/resources/network"
)

// startConsole writes, on metal, the progress a user at the console needs
// (the console is /dev/console there, see Main): each phase as it starts
// (or fails), and the node's addresses whenever they change. The
// maintenance server adds its fingerprint line.
func (m *machined) startConsole() {
	if m.opts.Mode != validation.ModeMetal || m.opts.Console == nil {
		return
	}
	w := m.opts.Console
	m.wg.Go(func() {
		_ = m.events.Watch(m.life, 0, func(ev *machine.Event) error {
			if line := consoleLine(ev); line != "" {
				fmt.Fprintln(w, line)
			}
			return nil
		})
	})
	ch := make(chan runtime.Event, 8)
	if err := m.state.Watch(m.life, resnet.NewNodeAddresses().Metadata().Ref(), ch); err != nil {
		m.logger.Warn("console: cannot follow the node's addresses", "error", err)
		return
	}
	m.wg.Go(func() {
		last := ""
		for {
			select {
			case <-m.life.Done():
				return
			case ev := <-ch:
				addrs, ok := ev.Resource.(*resnet.NodeAddresses)
				if !ok || ev.Type == runtime.Destroyed {
					continue
				}
				line := strings.Join(addrs.TypedSpec().Addresses, ", ")
				if line != "" && line != last {
					fmt.Fprintf(w, "machined: node addresses %s\n", line)
				}
				last = line
			}
		}
	})
}

// consoleLine is the console's line for a phase event, or "".
func consoleLine(ev *machine.Event) string {
	p := ev.GetPhase()
	switch {
	case p == nil:
		return ""
	case p.GetAction() == machine.PhaseEvent_START:
		return fmt.Sprintf("machined: %s: %s", p.GetSequence(), p.GetPhase())
	case p.GetError() != "":
		return fmt.Sprintf("machined: %s: %s: error: %s", p.GetSequence(), p.GetPhase(), p.GetError())
	}
	return ""
}
