package k8s

import (
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// Types of the manifests resources.
const (
	ManifestType       = "Manifests.k8s.plinth.dev"
	ManifestStatusType = "ManifestStatuses.k8s.plinth.dev"
)

// ManifestSpec is one set of Kubernetes objects the bootstrap node applies
// to the cluster with server-side apply. The resource id orders the
// manifests: "00-bootstrap-token", "10-coredns", ..., "50-inline-<name>".
type ManifestSpec struct {
	// Objects is the YAML of the objects, documents separated by "---".
	Objects string `json:"objects"`
	// Hash identifies Objects; a new hash is applied again.
	Hash string `json:"hash"`
}

// Manifest is one manifest resource.
type Manifest = resource.Typed[ManifestSpec]

// NewManifest returns an empty Manifest resource.
func NewManifest(id string) *Manifest {
	return resource.NewTyped(NamespaceName, ManifestType, id, ManifestSpec{})
}

// ManifestStatusSpec is the outcome of applying one manifest.
type ManifestStatusSpec struct {
	// Applied is true when every object of Hash was applied.
	Applied bool `json:"applied"`
	// Hash is the manifest hash last attempted.
	Hash string `json:"hash"`
	// Objects are the objects applied, as "Kind namespace/name".
	Objects []string `json:"objects,omitempty"`
	// Error is the last failure, empty after a success.
	Error string `json:"error,omitempty"`
	// Time is when the manifest was last attempted.
	Time time.Time `json:"time"`
}

// ManifestStatus is the status of one manifest; its id is the manifest's.
type ManifestStatus = resource.Typed[ManifestStatusSpec]

// NewManifestStatus returns an empty ManifestStatus resource.
func NewManifestStatus(id string) *ManifestStatus {
	return resource.NewTyped(NamespaceName, ManifestStatusType, id, ManifestStatusSpec{})
}

// ManifestDefinition describes Manifest resources. They may hold Secrets
// (the bootstrap token), so they are sensitive.
var ManifestDefinition = resource.Definition{
	Type: ManifestType, DefaultNamespace: NamespaceName, Sensitive: true,
	PrintColumns: []resource.Column{{Name: "Hash", JSONPath: "{.spec.hash}"}},
}

// ManifestStatusDefinition describes ManifestStatus resources.
var ManifestStatusDefinition = resource.Definition{
	Type: ManifestStatusType, DefaultNamespace: NamespaceName,
	PrintColumns: []resource.Column{
		{Name: "Applied", JSONPath: "{.spec.applied}"},
		{Name: "Time", JSONPath: "{.spec.time}"},
		{Name: "Error", JSONPath: "{.spec.error}"},
	},
}
