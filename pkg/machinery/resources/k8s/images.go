package k8s

import "github.com/plinth-os/plinth/pkg/machinery/resource"

// PreloadedImagesType is the type of the PreloadedImages resource.
const PreloadedImagesType = "PreloadedImages.k8s.plinth.dev"

// PreloadedImagesID is the id of the PreloadedImages resource.
const PreloadedImagesID = "preloaded"

// PreloadedImagesSpec lists the images shipped in the node image
// (/usr/share/plinth/images/*.tar) and their import into containerd's
// Kubernetes namespace.
type PreloadedImagesSpec struct {
	// Images are the archives, sorted by file name.
	Images []PreloadedImage `json:"images"`
	// Names are the names of the images imported, sorted.
	Names []string `json:"names,omitempty"`
	// Complete is true once every archive was attempted since containerd
	// last started.
	Complete bool `json:"complete"`
}

// PreloadedImage is one archive and its import.
type PreloadedImage struct {
	// File is the archive's node path.
	File string `json:"file"`
	// Names are the image names it holds (registry.k8s.io/pause:3.10).
	Names []string `json:"names,omitempty"`
	// Digest is the imported manifest's digest.
	Digest string `json:"digest,omitempty"`
	// Imported is true once containerd holds the image, unpacked.
	Imported bool `json:"imported"`
	// Error is the last failure, empty after a success.
	Error string `json:"error,omitempty"`
}

// PreloadedImages is the node's PreloadedImages resource.
type PreloadedImages = resource.Typed[PreloadedImagesSpec]

// NewPreloadedImages returns an empty PreloadedImages resource.
func NewPreloadedImages() *PreloadedImages {
	return resource.NewTyped(NamespaceName, PreloadedImagesType, PreloadedImagesID, PreloadedImagesSpec{})
}

// PreloadedImagesDefinition describes PreloadedImages resources.
var PreloadedImagesDefinition = resource.Definition{
	Type: PreloadedImagesType, DefaultNamespace: NamespaceName, Aliases: []string{"preloaded", "preloadedimages"},
	PrintColumns: []resource.Column{
		{Name: "Complete", JSONPath: "{.spec.complete}"},
		{Name: "Images", JSONPath: "{.spec.names}"},
	},
}
