// Package files holds the resources of what machined writes for the user:
// the status of the static files of machine.files and the environment of
// services.
package files

import "github.com/plinth-os/plinth/pkg/machinery/resource"

// NamespaceName is the namespace of files resources.
const NamespaceName = "files"

// Types of this package.
const (
	StaticFileStatusType = "StaticFileStatuses.files.plinth.dev"
	EnvironmentType      = "Environments.files.plinth.dev"
)

// EnvironmentID is the id of the Environment resource.
const EnvironmentID = "machine"

// StaticFileStatusSpec reports one machine.files entry.
type StaticFileStatusSpec struct {
	// Path is the file's path on the node (also the resource ID).
	Path string `json:"path"`
	// Op is "create" or "append".
	Op string `json:"op"`
	// Mode is the file's permission bits.
	Mode uint32 `json:"mode"`
	// SHA256 is the hex digest of the entry's content.
	SHA256 string `json:"sha256"`
	// Applied is true once the content is in the file.
	Applied bool `json:"applied"`
	// Error says why the last attempt failed; empty when it did not.
	Error string `json:"error,omitempty"`
}

// StaticFileStatus is the status of one static file.
type StaticFileStatus = resource.Typed[StaticFileStatusSpec]

// NewStaticFileStatus returns an empty status for the file at path.
func NewStaticFileStatus(path string) *StaticFileStatus {
	return resource.NewTyped(NamespaceName, StaticFileStatusType, path, StaticFileStatusSpec{Path: path})
}

// EnvironmentSpec is the environment every service gets.
type EnvironmentSpec struct {
	// Variables maps names to values, from machine.env.
	Variables map[string]string `json:"variables"`
}

// Environment is the services' environment resource.
type Environment = resource.Typed[EnvironmentSpec]

// NewEnvironment returns an empty Environment resource.
func NewEnvironment() *Environment {
	return resource.NewTyped(NamespaceName, EnvironmentType, EnvironmentID, EnvironmentSpec{})
}

// Definitions of this package's types.
var Definitions = []resource.Definition{
	{Type: StaticFileStatusType, DefaultNamespace: NamespaceName, Aliases: []string{"staticfiles"},
		PrintColumns: []resource.Column{
			{Name: "Op", JSONPath: "{.spec.op}"},
			{Name: "Applied", JSONPath: "{.spec.applied}"},
			{Name: "Error", JSONPath: "{.spec.error}"},
		}},
	{Type: EnvironmentType, DefaultNamespace: NamespaceName, Aliases: []string{"env"},
		PrintColumns: []resource.Column{{Name: "Variables", JSONPath: "{.spec.variables}"}}},
}
