// Package runtime holds the resources machined publishes about itself: the
// machine's stage (MachineStatus) and the state of each supervised service
// (Service).
package runtime

import "github.com/plinth-os/plinth/pkg/machinery/resource"

// NamespaceName is the namespace of runtime resources.
const NamespaceName = "runtime"

// Types of this package.
const (
	MachineStatusType = "MachineStatuses.runtime.plinth.dev"
	ServiceType       = "Services.runtime.plinth.dev"
)

// MachineStatusID is the id of the MachineStatus singleton.
const MachineStatusID = "machine"

// Stage is where the machine is in its life.
//
//	booting ──▶ maintenance ──config applied──▶ booting ──▶ running
//	   │                                                     │
//	   └───────────────────────▶ running ◀───────────────────┘
//	running ──▶ rebooting | shutting down | resetting
type Stage string

// The stages of a machine.
const (
	StageBooting      Stage = "booting"
	StageMaintenance  Stage = "maintenance"
	StageRunning      Stage = "running"
	StageRebooting    Stage = "rebooting"
	StageShuttingDown Stage = "shutting down"
	StageResetting    Stage = "resetting"
)

// MachineStatusSpec is the machine's stage and readiness.
type MachineStatusSpec struct {
	// Stage is the machine's stage.
	Stage Stage `json:"stage"`
	// Ready is true once the node API (apid) is running.
	Ready bool `json:"ready"`
}

// MachineStatus is the machine's stage and readiness.
type MachineStatus = resource.Typed[MachineStatusSpec]

// NewMachineStatus returns a MachineStatus resource in the booting stage.
func NewMachineStatus() *MachineStatus {
	return resource.NewTyped(NamespaceName, MachineStatusType, MachineStatusID,
		MachineStatusSpec{Stage: StageBooting})
}

// ServiceSpec is the state of one supervised service.
type ServiceSpec struct {
	// State is the supervisor state, e.g. "Running" or "Waiting".
	State string `json:"state"`
	// Running is true while the service's program runs.
	Running bool `json:"running"`
	// Healthy is true when the last health check passed (or the service
	// has none and is running).
	Healthy bool `json:"healthy"`
	// Unknown is true while health has not been checked yet.
	Unknown bool `json:"unknown"`
	// Message says why the service is in its state.
	Message string `json:"message,omitempty"`
}

// Service is the state of one supervised service; its id is the service id.
type Service = resource.Typed[ServiceSpec]

// NewService returns an empty Service resource for service id.
func NewService(id string) *Service {
	return resource.NewTyped(NamespaceName, ServiceType, id, ServiceSpec{})
}

// Definitions of this package's types.
var Definitions = []resource.Definition{
	{
		Type: MachineStatusType, DefaultNamespace: NamespaceName,
		Aliases: []string{"machinestatus", "ms"},
		PrintColumns: []resource.Column{
			{Name: "Stage", JSONPath: "{.spec.stage}"},
			{Name: "Ready", JSONPath: "{.spec.ready}"},
		},
	},
	{
		Type: ServiceType, DefaultNamespace: NamespaceName,
		Aliases: []string{"svc"},
		PrintColumns: []resource.Column{
			{Name: "State", JSONPath: "{.spec.state}"},
			{Name: "Running", JSONPath: "{.spec.running}"},
			{Name: "Healthy", JSONPath: "{.spec.healthy}"},
		},
	},
	ServiceConfigDefinition,
	BootStatusDefinition,
}
