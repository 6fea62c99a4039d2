// Package time holds the resource that reports the node's clock
// synchronisation.
package time

import (
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// NamespaceName is the namespace of time resources.
const NamespaceName = "time"

// TimeStatusType is the type of the time status resource.
const TimeStatusType = "TimeStatuses.time.plinth.dev"

// TimeStatusID is the id of the TimeStatus resource.
const TimeStatusID = "node"

// Modes of the clock.
const (
	// ModeNTP: machined synchronises the clock over NTP.
	ModeNTP = "ntp"
	// ModeHost: a container-mode node shares its host's clock.
	ModeHost = "host"
	// ModeDisabled: machine.time.disabled is set.
	ModeDisabled = "disabled"
)

// TimeStatusSpec reports the clock's synchronisation.
type TimeStatusSpec struct {
	// Mode is ntp, host or disabled.
	Mode string `json:"mode"`
	// Synced is true once a server answered and the clock was set (in host
	// mode: always true, the host keeps the time).
	Synced bool `json:"synced"`
	// Servers are the servers in use, in order of preference.
	Servers []string `json:"servers,omitempty"`
	// Server is the server of the last successful query.
	Server string `json:"server,omitempty"`
	// Offset is the clock's offset measured at the last sync ("-1.5ms").
	Offset string `json:"offset,omitempty"`
	// Adjustment is how the last offset was corrected: step or slew.
	Adjustment string `json:"adjustment,omitempty"`
	// LastSync is when the clock was last synchronised.
	LastSync time.Time `json:"lastSync,omitzero"`
	// Error is the last failure, cleared by the next success.
	Error string `json:"error,omitempty"`
}

// TimeStatus is the clock's status resource.
type TimeStatus = resource.Typed[TimeStatusSpec]

// NewTimeStatus returns an empty TimeStatus resource.
func NewTimeStatus() *TimeStatus {
	return resource.NewTyped(NamespaceName, TimeStatusType, TimeStatusID, TimeStatusSpec{})
}

// Definitions of this package's types.
var Definitions = []resource.Definition{
	{Type: TimeStatusType, DefaultNamespace: NamespaceName, Aliases: []string{"time"},
		PrintColumns: []resource.Column{
			{Name: "Mode", JSONPath: "{.spec.mode}"},
			{Name: "Synced", JSONPath: "{.spec.synced}"},
			{Name: "Server", JSONPath: "{.spec.server}"},
			{Name: "Offset", JSONPath: "{.spec.offset}"},
		}},
}
