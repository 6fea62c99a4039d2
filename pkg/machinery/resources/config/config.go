// Package config holds the resources that carry the machine config into
// the controller runtime: the active MachineConfig and the MachineType.
package config

import (
	"github.com/plinth-os/plinth/pkg/machinery/config"
	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// NamespaceName is the namespace of config resources.
const NamespaceName = "config"

// Types of this package.
const (
	MachineConfigType = "MachineConfigs.config.plinth.dev"
	MachineTypeType   = "MachineTypes.config.plinth.dev"
)

// IDs of the singleton resources.
const (
	// ActiveID is the MachineConfig the node runs with.
	ActiveID = "v1alpha1"
	// MachineTypeID is the id of the MachineType resource.
	MachineTypeID = "machine-type"
)

// MachineConfigSpec holds a loaded machine config. The config is immutable
// once stored: a new config is a new spec, so copies share it.
type MachineConfigSpec struct {
	// Config is the loaded, validated config.
	Config *config.Config `json:"-"`
	// Raw is the YAML the config was loaded from.
	Raw string `json:"raw"`
}

// DeepCopy implements resource.DeepCopier: the config is immutable.
func (s MachineConfigSpec) DeepCopy() MachineConfigSpec { return s }

// MachineConfig is the active machine config resource.
type MachineConfig = resource.Typed[MachineConfigSpec]

// NewMachineConfig wraps a loaded config and its source.
func NewMachineConfig(c *config.Config, raw []byte) *MachineConfig {
	return resource.NewTyped(NamespaceName, MachineConfigType, ActiveID, MachineConfigSpec{Config: c, Raw: string(raw)})
}

// MachineTypeSpec is the node's role.
type MachineTypeSpec struct {
	// Type is "controlplane" or "worker".
	Type string `json:"type"`
}

// MachineType is the node's role, derived from the config.
type MachineType = resource.Typed[MachineTypeSpec]

// NewMachineType returns an empty MachineType resource.
func NewMachineType() *MachineType {
	return resource.NewTyped(NamespaceName, MachineTypeType, MachineTypeID, MachineTypeSpec{})
}

// Definitions of this package's types.
var Definitions = []resource.Definition{
	{Type: MachineConfigType, DefaultNamespace: NamespaceName, Aliases: []string{"mc", "machineconfig"}, Sensitive: true},
	{Type: MachineTypeType, DefaultNamespace: NamespaceName, Aliases: []string{"machinetype"},
		PrintColumns: []resource.Column{{Name: "Machine Type", JSONPath: "{.spec.type}"}}},
}
