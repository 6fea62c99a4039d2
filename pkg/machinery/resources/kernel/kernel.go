// Package kernel holds the resources that report kernel settings machined
// applies: one KernelParamStatus per sysctl.
package kernel

import "github.com/plinth-os/plinth/pkg/machinery/resource"

// NamespaceName is the namespace of kernel resources.
const NamespaceName = "kernel"

// KernelParamStatusType is the type of the sysctl status resources.
const KernelParamStatusType = "KernelParamStatuses.kernel.plinth.dev"

// Origins of a kernel parameter.
const (
	// OriginDefault: one of Plinth's hardened defaults.
	OriginDefault = "default"
	// OriginConfig: machine.sysctls (which overrides a default).
	OriginConfig = "config"
)

// KernelParamStatusSpec reports one sysctl.
type KernelParamStatusSpec struct {
	// Key is the dotted name ("net.ipv4.ip_forward", also the ID).
	Key string `json:"key"`
	// Value is the value asked for.
	Value string `json:"value"`
	// Origin is default or config.
	Origin string `json:"origin"`
	// Applied is true once the value was written.
	Applied bool `json:"applied"`
	// Skipped is true when the key is not set in this mode (host-wide
	// keys in container mode).
	Skipped bool `json:"skipped,omitempty"`
	// Error says why the value was not written.
	Error string `json:"error,omitempty"`
}

// KernelParamStatus is the status of one sysctl.
type KernelParamStatus = resource.Typed[KernelParamStatusSpec]

// NewKernelParamStatus returns an empty status of the sysctl key.
func NewKernelParamStatus(key string) *KernelParamStatus {
	return resource.NewTyped(NamespaceName, KernelParamStatusType, key, KernelParamStatusSpec{Key: key})
}

// Definitions of this package's types.
var Definitions = []resource.Definition{
	{Type: KernelParamStatusType, DefaultNamespace: NamespaceName, Aliases: []string{"sysctls"},
		PrintColumns: []resource.Column{
			{Name: "Value", JSONPath: "{.spec.value}"},
			{Name: "Origin", JSONPath: "{.spec.origin}"},
			{Name: "Applied", JSONPath: "{.spec.applied}"},
			{Name: "Error", JSONPath: "{.spec.error}"},
		}},
}
