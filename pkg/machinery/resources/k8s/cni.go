package k8s

import "github.com/plinth-os/plinth/pkg/machinery/resource"

// PodCIDRsType is the type of the PodCIDRs resource.
const PodCIDRsType = "PodCIDRs.k8s.plinth.dev"

// PodCIDRsID is the id of the PodCIDRs resource.
const PodCIDRsID = "node"

// PodCIDRsSpec are the pod address ranges the cluster gave this node
// (spec.podCIDRs of its Node object), from which the CNI assigns pod IPs.
type PodCIDRsSpec struct {
	// NodeName is the Node object they were read from.
	NodeName string `json:"nodeName"`
	// PodCIDRs are the node's ranges, one per IP family.
	PodCIDRs []string `json:"podCIDRs"`
}

// PodCIDRs is the node's PodCIDRs resource.
type PodCIDRs = resource.Typed[PodCIDRsSpec]

// NewPodCIDRs returns an empty PodCIDRs resource.
func NewPodCIDRs() *PodCIDRs {
	return resource.NewTyped(NamespaceName, PodCIDRsType, PodCIDRsID, PodCIDRsSpec{})
}

// PodCIDRsDefinition describes PodCIDRs resources.
var PodCIDRsDefinition = resource.Definition{
	Type: PodCIDRsType, DefaultNamespace: NamespaceName, Aliases: []string{"podcidrs", "podcidr"},
	PrintColumns: []resource.Column{
		{Name: "Node", JSONPath: "{.spec.nodeName}"},
		{Name: "Pod CIDRs", JSONPath: "{.spec.podCIDRs}"},
	},
}
