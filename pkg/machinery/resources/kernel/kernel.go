// Package kernel holds the resources that report kernel settings machined
// applies: one KernelParamStatus per sysctl and one KernelModuleStatus per
// kernel module machined loads.
package kernel

import "github.com/plinth-os/plinth/pkg/machinery/resource"

// NamespaceName is the namespace of kernel resources.
const NamespaceName = "kernel"

// KernelParamStatusType is the type of the sysctl status resources.
const KernelParamStatusType = "KernelParamStatuses.kernel.plinth.dev"

// KernelModuleStatusType is the type of the kernel module status resources.
const KernelModuleStatusType = "KernelModuleStatuses.kernel.plinth.dev"

// Origins of a kernel parameter or module.
const (
	// OriginKubernetes: a module the image lists for Kubernetes
	// (netfilter, bridge, veth, vxlan), loaded before containerd.
	OriginKubernetes = "kubernetes"
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

// States of a kernel module.
const (
	// ModuleLoaded: machined inserted it (with its dependencies).
	ModuleLoaded = "loaded"
	// ModulePresent: the kernel had it already (loaded before, or by init).
	ModulePresent = "present"
	// ModuleBuiltin: it is part of the kernel image.
	ModuleBuiltin = "built-in"
	// ModuleFailed: it could not be loaded; Error says why.
	ModuleFailed = "failed"
)

// KernelModuleStatusSpec reports one kernel module machined was asked to
// load (machine.kernel.modules, or the image's Kubernetes set).
type KernelModuleStatusSpec struct {
	// Name is the module's name (also the ID).
	Name string `json:"name"`
	// Origin is kubernetes or config.
	Origin string `json:"origin"`
	// Parameters are the module's parameters (key=value).
	Parameters []string `json:"parameters,omitempty"`
	// State is loaded, present, built-in or failed.
	State string `json:"state"`
	// Dependencies are the modules it needed, loaded first.
	Dependencies []string `json:"dependencies,omitempty"`
	// Error says why it failed.
	Error string `json:"error,omitempty"`
}

// KernelModuleStatus is the status of one kernel module.
type KernelModuleStatus = resource.Typed[KernelModuleStatusSpec]

// NewKernelModuleStatus returns an empty status of the module name.
func NewKernelModuleStatus(name string) *KernelModuleStatus {
	return resource.NewTyped(NamespaceName, KernelModuleStatusType, name, KernelModuleStatusSpec{Name: name})
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
	{Type: KernelModuleStatusType, DefaultNamespace: NamespaceName, Aliases: []string{"kernelmodules", "modules"},
		PrintColumns: []resource.Column{
			{Name: "Origin", JSONPath: "{.spec.origin}"},
			{Name: "State", JSONPath: "{.spec.state}"},
			{Name: "Error", JSONPath: "{.spec.error}"},
		}},
}
