package qemu

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// qmpFD is the file descriptor number of the node's QMP connection in
// QEMU: one end of a socket pair whose other end the launcher reads, so no
// socket file is left in the state directory and nothing else can connect.
const qmpFD = 4

// QMP SHUTDOWN reasons (QEMU's ShutdownCause) the launcher acts on.
const (
	shutdownGuestReset    = "guest-reset"
	shutdownGuestShutdown = "guest-shutdown"
	shutdownGuestPanic    = "guest-panic"
	shutdownHostSignal    = "host-signal"
)

// qmpMessage is one line QEMU's monitor sends: the greeting, a command's
// return or error, or an event.
type qmpMessage struct {
	// Greeting is set for the first line, {"QMP": {...}}.
	Greeting bool
	// Event is the event's name (SHUTDOWN, RESET, GUEST_PANICKED, ...).
	Event string
	// Reason is a SHUTDOWN event's cause (guest-reset, guest-shutdown,
	// host-signal, ...); Guest says whether the guest asked for it.
	Reason string
	Guest  bool
	// Action is a GUEST_PANICKED event's action.
	Action string
	// Error is a command's error message.
	Error string
}

// parseQMP decodes one line of the monitor.
func parseQMP(line []byte) (qmpMessage, error) {
	var raw struct {
		QMP   json.RawMessage `json:"QMP"`
		Event string          `json:"event"`
		Data  struct {
			Reason string `json:"reason"`
			Guest  bool   `json:"guest"`
			Action string `json:"action"`
		} `json:"data"`
		Error *struct {
			Class string `json:"class"`
			Desc  string `json:"desc"`
		} `json:"error"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return qmpMessage{}, fmt.Errorf("QMP line %.80q: %w", line, err)
	}
	m := qmpMessage{Greeting: raw.QMP != nil, Event: raw.Event, Reason: raw.Data.Reason, Guest: raw.Data.Guest, Action: raw.Data.Action}
	if raw.Error != nil {
		m.Error = raw.Error.Class + ": " + raw.Error.Desc
	}
	return m, nil
}

// qmpWatch follows one QEMU's monitor and remembers why the guest
// stopped. It is safe for concurrent use.
type qmpWatch struct {
	mu     sync.Mutex
	reason string // the last SHUTDOWN's reason, or guest-panic
	err    error  // why the monitor could not be followed
}

// shutdownReason returns the last shutdown's reason ("" when QEMU sent
// none) and the error that ended the watch early, if any.
func (q *qmpWatch) shutdownReason() (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.reason, q.err
}

// follow reads the monitor on rw until it ends: the greeting, the answer
// to qmp_capabilities (sent after the greeting, which leaves negotiation
// mode so events flow), then events. onEvent is told of every event.
func (q *qmpWatch) follow(rw io.ReadWriter, onEvent func(qmpMessage)) {
	sc := bufio.NewScanner(rw)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	negotiated := false
	for sc.Scan() {
		m, err := parseQMP(sc.Bytes())
		if err != nil {
			q.fail(err)
			continue
		}
		switch {
		case m.Greeting && !negotiated:
			negotiated = true
			if _, err := io.WriteString(rw, `{"execute":"qmp_capabilities"}`+"\n"); err != nil {
				q.fail(fmt.Errorf("QMP capabilities: %w", err))
			}
		case m.Error != "":
			q.fail(fmt.Errorf("QMP: %s", m.Error))
		case m.Event != "":
			q.record(m)
			if onEvent != nil {
				onEvent(m)
			}
		}
	}
	if err := sc.Err(); err != nil {
		q.fail(fmt.Errorf("read QMP: %w", err))
	}
}

// record keeps what an event says about the guest's end.
func (q *qmpWatch) record(m qmpMessage) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case m.Event == "SHUTDOWN" && m.Reason != "":
		if q.reason != shutdownGuestPanic {
			q.reason = m.Reason
		}
	case m.Event == "GUEST_PANICKED" && m.Action != "run":
		q.reason = shutdownGuestPanic
	}
}

func (q *qmpWatch) fail(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err == nil {
		q.err = err
	}
}
