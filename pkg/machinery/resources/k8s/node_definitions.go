package k8s

import "github.com/plinth-os/plinth/pkg/machinery/resource"

// NodeDefinitions are the definitions of the node components' types in
// this package (kubelet, preloaded images, pod CIDRs).
var NodeDefinitions = []resource.Definition{
	KubeletDefinition,
	PreloadedImagesDefinition,
	PodCIDRsDefinition,
}
