package runtime

import (
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// BootStatusType is the type of the BootStatus singleton.
const BootStatusType = "BootStatuses.runtime.plinth.dev"

// BootStatusID is the id of the BootStatus singleton.
const BootStatusID = "boot"

// BootSlotStatus is one boot slot (A or B) of an installed node.
type BootSlotStatus struct {
	// Name is A or B.
	Name string `json:"name"`
	// Version is the Plinth version written to the slot.
	Version string `json:"version,omitempty"`
	// Complete is false while the slot is written or after a write failed:
	// an incomplete slot is never booted.
	Complete bool `json:"complete"`
}

// UpgradeResult is the outcome of the last upgrade or rollback.
type UpgradeResult struct {
	// Result is committed, rolled-back or failed.
	Result string `json:"result"`
	// Slot is the slot the upgrade wrote or the rollback chose.
	Slot string `json:"slot,omitempty"`
	// FromVersion and ToVersion are the versions before and after.
	FromVersion string `json:"fromVersion,omitempty"`
	ToVersion   string `json:"toVersion,omitempty"`
	// Reason says why the upgrade was rolled back or failed.
	Reason string `json:"reason,omitempty"`
	// At is when the result was recorded.
	At time.Time `json:"at"`
}

// BootStatusSpec is how the node is installed and what it booted.
type BootStatusSpec struct {
	// Installed is true when the node booted from its installed disk.
	Installed bool `json:"installed"`
	// Disk is the installed disk.
	Disk string `json:"disk,omitempty"`
	// BootedSlot is the slot running now (empty on a live boot).
	BootedSlot string `json:"bootedSlot,omitempty"`
	// DefaultSlot is the committed slot the firmware boots by default.
	DefaultSlot string `json:"defaultSlot,omitempty"`
	// Slots are both slots.
	Slots []BootSlotStatus `json:"slots,omitempty"`
	// TrialSlot is set while a new version is on its health-gated first
	// boot (or staged for the next boot); TrialDeadline ends the gate.
	TrialSlot     string    `json:"trialSlot,omitempty"`
	TrialVersion  string    `json:"trialVersion,omitempty"`
	TrialDeadline time.Time `json:"trialDeadline,omitzero"`
	// LastUpgrade is the last upgrade's or rollback's result.
	LastUpgrade *UpgradeResult `json:"lastUpgrade,omitempty"`
}

// BootStatus is how the node is installed and what it booted.
type BootStatus = resource.Typed[BootStatusSpec]

// NewBootStatus returns an empty BootStatus.
func NewBootStatus() *BootStatus {
	return resource.NewTyped(NamespaceName, BootStatusType, BootStatusID, BootStatusSpec{})
}

// BootStatusDefinition describes BootStatus to the API.
var BootStatusDefinition = resource.Definition{
	Type: BootStatusType, DefaultNamespace: NamespaceName,
	Aliases: []string{"bootstatus", "boot"},
	PrintColumns: []resource.Column{
		{Name: "Installed", JSONPath: "{.spec.installed}"},
		{Name: "Booted", JSONPath: "{.spec.bootedSlot}"},
		{Name: "Default", JSONPath: "{.spec.defaultSlot}"},
		{Name: "Trial", JSONPath: "{.spec.trialSlot}"},
		{Name: "Last", JSONPath: "{.spec.lastUpgrade.result}"},
	},
}
