package runtime

import "github.com/plinth-os/plinth/pkg/machinery/resource"

// ServiceConfigType is the type of ServiceConfig resources.
const ServiceConfigType = "ServiceConfigs.runtime.plinth.dev"

// ServiceConfigSpec is how a controller asks machined to run a program as a
// supervised service: machined's service reconciler loads, starts,
// restarts (when the spec changes) and stops services to match the
// ServiceConfig resources. The resource id is the service id.
//
//	controller ──writes──▶ ServiceConfig ──reconciler──▶ supervisor ──▶ process
//	                                                          └──▶ Service (status)
type ServiceConfigSpec struct {
	// Args is the program and its arguments; Args[0] is an absolute path on
	// the node (joined to machined's root in container mode and tests).
	Args []string `json:"args"`
	// Env is the program's environment, KEY=VALUE; the machine's
	// Environment (machine.env) is added.
	Env []string `json:"env,omitempty"`
	// WorkingDir is the program's working directory (a node path).
	WorkingDir string `json:"workingDir,omitempty"`
	// DependsOn are services that must be running (and healthy when they
	// have a health check) first.
	DependsOn []string `json:"dependsOn,omitempty"`
	// WaitFiles are node paths that must exist before the service starts.
	WaitFiles []string `json:"waitFiles,omitempty"`
	// WaitURL, when set, must answer before the service starts.
	WaitURL *WaitURL `json:"waitURL,omitempty"`
	// HealthCheck, when set, decides the service's health.
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
	// Restart is always (default), on-failure or never.
	Restart string `json:"restart,omitempty"`
	// ConfigHash changes when the files the program reads change; a new
	// hash restarts the service even if Args did not change.
	ConfigHash string `json:"configHash,omitempty"`
	// MemoryMax limits the service's memory in bytes (0: none); applied
	// where the service has its own cgroup.
	MemoryMax int64 `json:"memoryMax,omitempty"`
	// OOMScoreAdj is the program's OOM score adjustment (0: inherit).
	OOMScoreAdj int `json:"oomScoreAdj,omitempty"`
}

// WaitURL holds a service back until a URL answers 2xx to a GET: a
// program that would otherwise start, fail against a server not ready
// for it and back off (the kubelet's certificate bootstrap) starts once
// it can succeed.
type WaitURL struct {
	// URL, CAFile, CertFile and KeyFile are as in HealthCheck.
	URL      string `json:"url"`
	CAFile   string `json:"caFile,omitempty"`
	CertFile string `json:"certFile,omitempty"`
	KeyFile  string `json:"keyFile,omitempty"`
	// BearerTokenFile holds a token sent as Authorization: Bearer (a
	// node path).
	BearerTokenFile string `json:"bearerTokenFile,omitempty"`
	// UnlessFile skips the wait when this node path exists.
	UnlessFile string `json:"unlessFile,omitempty"`
}

// HealthCheck probes a service. Exactly one of URL, TCP and Socket is set.
type HealthCheck struct {
	// URL is probed with GET; any 2xx answer is healthy.
	URL string `json:"url,omitempty"`
	// CAFile verifies an https URL (node path); Insecure skips verification.
	CAFile   string `json:"caFile,omitempty"`
	Insecure bool   `json:"insecure,omitempty"`
	// CertFile and KeyFile are a client certificate for the probe (node paths).
	CertFile string `json:"certFile,omitempty"`
	KeyFile  string `json:"keyFile,omitempty"`
	// TCP is a host:port that must accept connections.
	TCP string `json:"tcp,omitempty"`
	// Socket is a Unix socket (node path) that must accept connections.
	Socket string `json:"socket,omitempty"`
	// IntervalSeconds between probes (default 5).
	IntervalSeconds int `json:"intervalSeconds,omitempty"`
}

// ServiceConfig asks machined to run a service.
type ServiceConfig = resource.Typed[ServiceConfigSpec]

// NewServiceConfig returns a ServiceConfig for the service id.
func NewServiceConfig(id string) *ServiceConfig {
	return resource.NewTyped(NamespaceName, ServiceConfigType, id, ServiceConfigSpec{})
}

// ServiceConfigDefinition describes ServiceConfig resources.
var ServiceConfigDefinition = resource.Definition{
	Type: ServiceConfigType, DefaultNamespace: NamespaceName, Aliases: []string{"serviceconfig", "svcconfig"},
	PrintColumns: []resource.Column{{Name: "Program", JSONPath: "{.spec.args[0]}"}},
}
