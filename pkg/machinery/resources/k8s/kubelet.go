package k8s

import "github.com/plinth-os/plinth/pkg/machinery/resource"

// KubeletType is the type of the Kubelet resource.
const KubeletType = "Kubelets.k8s.plinth.dev"

// KubeletID is the id of the Kubelet resource.
const KubeletID = "kubelet"

// KubeletSpec is how the node's kubelet runs: what kube-proxy and the CNI
// controllers need to know about the node, and what was decided from the
// config (node IP, labels, taints).
type KubeletSpec struct {
	// NodeName is the Kubernetes node name (the node's hostname).
	NodeName string `json:"nodeName"`
	// NodeIPs are the addresses kubelet registers (--node-ip), one per
	// IP family.
	NodeIPs []string `json:"nodeIPs"`
	// Endpoint is the Kubernetes API the kubelet talks to.
	Endpoint string `json:"endpoint"`
	// Kubeconfig is the kubelet's kubeconfig once TLS bootstrap is done
	// (a node path); its client certificate is a system:node:<name> identity.
	Kubeconfig string `json:"kubeconfig"`
	// Labels and Taints registered with the Node object ("key=value:Effect").
	Labels map[string]string `json:"labels,omitempty"`
	Taints []string          `json:"taints,omitempty"`
	// ConfigHash identifies the files kubelet reads.
	ConfigHash string `json:"configHash"`
}

// Kubelet is the node's Kubelet resource.
type Kubelet = resource.Typed[KubeletSpec]

// NewKubelet returns an empty Kubelet resource.
func NewKubelet() *Kubelet {
	return resource.NewTyped(NamespaceName, KubeletType, KubeletID, KubeletSpec{})
}

// KubeletDefinition describes Kubelet resources.
var KubeletDefinition = resource.Definition{
	Type: KubeletType, DefaultNamespace: NamespaceName, Aliases: []string{"kubelet"},
	PrintColumns: []resource.Column{
		{Name: "Node", JSONPath: "{.spec.nodeName}"},
		{Name: "IPs", JSONPath: "{.spec.nodeIPs}"},
	},
}
