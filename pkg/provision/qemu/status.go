package qemu

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/fsutil"
)

// Status is the launcher's account of a cluster, in StatusFile. Times are
// the host's clock.
type Status struct {
	// PID is the launcher's process id.
	PID int `json:"pid"`
	// Started is when the launcher started.
	Started time.Time `json:"started"`
	// Ready is set once the DHCP and config servers listen and every QEMU
	// has been started.
	Ready bool `json:"ready"`
	// ConfigServer is the config server's address (gateway:port).
	ConfigServer string `json:"configServer,omitempty"`
	// Error is why the launcher stopped, if it failed.
	Error string `json:"error,omitempty"`
	// Stopped is when the launcher stopped.
	Stopped time.Time `json:"stopped,omitzero"`
	// Nodes by name.
	Nodes map[string]*NodeStatus `json:"nodes"`
}

// NodeStatus is what the launcher knows of one VM.
type NodeStatus struct {
	// PID is the current (or last) QEMU's process id.
	PID int `json:"pid"`
	// Started is when the current (or last) QEMU was started.
	Started time.Time `json:"started"`
	// BootMode is how that QEMU boots (live or disk); BootModeReason why.
	BootMode       BootMode `json:"bootMode,omitempty"`
	BootModeReason string   `json:"bootModeReason,omitempty"`
	// Exited is when QEMU exited for good (the guest powered off, QEMU
	// failed or was stopped); ExitError says how. A QEMU that is started
	// again (a reboot, a power cut) leaves it zero.
	Exited    time.Time `json:"exited,omitzero"`
	ExitError string    `json:"exitError,omitempty"`
	// Restarts counts the QEMUs started again after an exit; LastExit and
	// LastExitReason are the last exit of any kind.
	Restarts       int       `json:"restarts"`
	LastExit       time.Time `json:"lastExit,omitzero"`
	LastExitReason string    `json:"lastExitReason,omitempty"`
	// RestartAt is set while a restart waits out a restart loop's backoff.
	RestartAt time.Time `json:"restartAt,omitzero"`
	// Boots counts the kernel boots seen on the console (init's first
	// line), reboots included.
	Boots int `json:"boots"`
	// KernelStarted is when the last boot's kernel started: when init's
	// first line arrived minus the kernel uptime it prints.
	KernelStarted time.Time `json:"kernelStarted,omitzero"`
	// InitStarted is when init's first line of the last boot arrived.
	InitStarted time.Time `json:"initStarted,omitzero"`
	// Leases counts DHCP acknowledgements; Leased is the last one.
	Leases int       `json:"leases"`
	Leased time.Time `json:"leased,omitzero"`
	// ConfigFetches counts configs served; ConfigFetched is the last one.
	ConfigFetches int       `json:"configFetches"`
	ConfigFetched time.Time `json:"configFetched,omitzero"`
	// BundleFetches counts downloads of the boot bundle (installs).
	BundleFetches int `json:"bundleFetches,omitempty"`
}

// Running reports whether the node's QEMU was started and has not exited.
func (n *NodeStatus) Running() bool { return n != nil && n.PID > 0 && n.Exited.IsZero() }

// ReadStatus reads the launcher's status from a state directory.
func ReadStatus(dir string) (*Status, error) {
	data, err := os.ReadFile(filepath.Join(dir, StatusFile))
	if err != nil {
		return nil, fmt.Errorf("launcher status: %w", err)
	}
	var s Status
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("launcher status %s: %w", filepath.Join(dir, StatusFile), err)
	}
	if s.Nodes == nil {
		s.Nodes = map[string]*NodeStatus{}
	}
	return &s, nil
}

// statusRecorder keeps the launcher's Status and writes it after every
// change. It is safe for concurrent use.
type statusRecorder struct {
	mu   sync.Mutex
	path string
	s    Status
	now  func() time.Time
	// onError is told when the file cannot be written.
	onError func(error)
}

func newStatusRecorder(dir string, pid int, now func() time.Time, onError func(error)) *statusRecorder {
	return &statusRecorder{
		path:    filepath.Join(dir, StatusFile),
		s:       Status{PID: pid, Started: now(), Nodes: map[string]*NodeStatus{}},
		now:     now,
		onError: onError,
	}
}

// update changes the status under the lock and writes it.
func (r *statusRecorder) update(f func(s *Status)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.s)
	data, err := json.MarshalIndent(&r.s, "", "  ")
	if err == nil {
		err = fsutil.WriteFileAtomic(r.path, append(data, '\n'), 0o600)
	}
	if err != nil && r.onError != nil {
		r.onError(fmt.Errorf("write %s: %w", r.path, err))
	}
}

// node changes one node's status.
func (r *statusRecorder) node(name string, f func(n *NodeStatus, now time.Time)) {
	r.update(func(s *Status) {
		n := s.Nodes[name]
		if n == nil {
			n = &NodeStatus{}
			s.Nodes[name] = n
		}
		f(n, r.now())
	})
}
