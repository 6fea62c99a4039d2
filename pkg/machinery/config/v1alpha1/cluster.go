package v1alpha1

import "github.com/plinth-os/plinth/pkg/machinery/pki"

// Cluster holds the settings shared by every node of a Kubernetes cluster.
type Cluster struct {
	// ID identifies the cluster; random, base64.
	ID string `yaml:"id,omitempty" json:"id,omitempty"`
	// Secret is shared by the cluster's nodes to find each other; random, base64.
	Secret string `yaml:"secret,omitempty" json:"secret,omitempty"`
	// ClusterName is the cluster's name (a DNS label), used in kubeconfigs.
	// Example: demo
	ClusterName string `yaml:"clusterName,omitempty" json:"clusterName,omitempty"`
	// KubernetesVersion is the Kubernetes version the node runs; it must be
	// one the node image ships.
	// Example: v1.37.2
	KubernetesVersion string `yaml:"kubernetesVersion,omitempty" json:"kubernetesVersion,omitempty"`
	// ControlPlane tells nodes how to reach the Kubernetes API.
	ControlPlane *ControlPlane `yaml:"controlPlane,omitempty" json:"controlPlane,omitempty"`
	// Network configures the cluster's pod and service networks.
	Network *ClusterNetwork `yaml:"network,omitempty" json:"network,omitempty"`
	// Token is the Kubernetes bootstrap token workers join with.
	// Example: abcdef.0123456789abcdef
	Token string `yaml:"token,omitempty" json:"token,omitempty"`
	// SecretboxEncryptionSecret encrypts Secrets at rest in etcd (32 bytes, base64).
	SecretboxEncryptionSecret string `yaml:"secretboxEncryptionSecret,omitempty" json:"secretboxEncryptionSecret,omitempty"`
	// CA is the Kubernetes certificate authority; its key only on control planes.
	CA *pki.CertAndKey `yaml:"ca,omitempty" json:"ca,omitempty"`
	// AggregatorCA signs the front proxy's client certificates; control planes only.
	AggregatorCA *pki.CertAndKey `yaml:"aggregatorCA,omitempty" json:"aggregatorCA,omitempty"`
	// ServiceAccount holds the key that signs service-account tokens; control planes only.
	ServiceAccount *ServiceAccount `yaml:"serviceAccount,omitempty" json:"serviceAccount,omitempty"`
	// Etcd configures the etcd members on control planes.
	Etcd *Etcd `yaml:"etcd,omitempty" json:"etcd,omitempty"`
	// APIServer configures kube-apiserver.
	APIServer *APIServer `yaml:"apiServer,omitempty" json:"apiServer,omitempty"`
	// ControllerManager configures kube-controller-manager.
	ControllerManager *Component `yaml:"controllerManager,omitempty" json:"controllerManager,omitempty"`
	// Scheduler configures kube-scheduler.
	Scheduler *Component `yaml:"scheduler,omitempty" json:"scheduler,omitempty"`
	// Proxy configures kube-proxy.
	Proxy *Proxy `yaml:"proxy,omitempty" json:"proxy,omitempty"`
	// CoreDNS configures the cluster DNS.
	CoreDNS *CoreDNS `yaml:"coreDNS,omitempty" json:"coreDNS,omitempty"`
	// AllowSchedulingOnControlPlanes lets ordinary pods run on control planes.
	// Default: false
	AllowSchedulingOnControlPlanes bool `yaml:"allowSchedulingOnControlPlanes,omitempty" json:"allowSchedulingOnControlPlanes,omitempty"`
	// InlineManifests are Kubernetes manifests applied at bootstrap.
	InlineManifests []InlineManifest `yaml:"inlineManifests,omitempty" json:"inlineManifests,omitempty"`
}

// ControlPlane tells nodes how to reach the Kubernetes API.
type ControlPlane struct {
	// Endpoint is the https URL of the Kubernetes API (a load balancer, a
	// shared address or the first control plane).
	// Example: https://10.5.0.2:6443
	Endpoint string `yaml:"endpoint" json:"endpoint"`
}

// ClusterNetwork configures the cluster's networks.
type ClusterNetwork struct {
	// DNSDomain is the cluster's DNS domain.
	// Default: cluster.local
	DNSDomain string `yaml:"dnsDomain,omitempty" json:"dnsDomain,omitempty"`
	// PodSubnets are the pod address ranges (one per IP family).
	// Default: [10.244.0.0/16]
	PodSubnets []string `yaml:"podSubnets,omitempty" json:"podSubnets,omitempty"`
	// ServiceSubnets are the service address ranges (one per IP family).
	// Default: [10.96.0.0/12]
	ServiceSubnets []string `yaml:"serviceSubnets,omitempty" json:"serviceSubnets,omitempty"`
	// CNI chooses the pod network.
	CNI *CNI `yaml:"cni,omitempty" json:"cni,omitempty"`
}

// CNI chooses the pod network.
type CNI struct {
	// Name of the CNI: flannel is shipped with Plinth; none leaves it to you.
	// Values: flannel, none
	// Default: flannel
	Name string `yaml:"name" json:"name"`
}

// ServiceAccount holds the service-account signing key.
type ServiceAccount struct {
	// Key is the PEM private key, base64.
	Key Base64 `yaml:"key" json:"key"`
}

// Etcd configures etcd.
type Etcd struct {
	// CA is etcd's certificate authority; control planes only.
	CA *pki.CertAndKey `yaml:"ca,omitempty" json:"ca,omitempty"`
	// ExtraArgs are extra etcd flags, without the leading "--".
	ExtraArgs map[string]string `yaml:"extraArgs,omitempty" json:"extraArgs,omitempty"`
	// AdvertisedSubnets choose the address etcd advertises to its peers.
	// Example: [10.5.0.0/24]
	AdvertisedSubnets []string `yaml:"advertisedSubnets,omitempty" json:"advertisedSubnets,omitempty"`
}

// APIServer configures kube-apiserver.
type APIServer struct {
	// CertSANs are extra names and IPs for the API server certificate.
	CertSANs []string `yaml:"certSANs,omitempty" json:"certSANs,omitempty"`
	// ExtraArgs are extra flags, without the leading "--".
	ExtraArgs map[string]string `yaml:"extraArgs,omitempty" json:"extraArgs,omitempty"`
}

// Component configures a control-plane component.
type Component struct {
	// ExtraArgs are extra flags, without the leading "--".
	ExtraArgs map[string]string `yaml:"extraArgs,omitempty" json:"extraArgs,omitempty"`
}

// Proxy configures kube-proxy.
type Proxy struct {
	// Disabled turns kube-proxy off (for a CNI that replaces it).
	// Default: false
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	// Mode is kube-proxy's mode.
	// Values: iptables, nftables
	// Default: iptables
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
	// ExtraArgs are extra flags, without the leading "--".
	ExtraArgs map[string]string `yaml:"extraArgs,omitempty" json:"extraArgs,omitempty"`
}

// CoreDNS configures the cluster DNS.
type CoreDNS struct {
	// Disabled leaves CoreDNS out.
	// Default: false
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
}

// InlineManifest is a Kubernetes manifest applied at bootstrap.
type InlineManifest struct {
	// Name identifies the manifest.
	Name string `yaml:"name" json:"name"`
	// Contents is one or more YAML documents of Kubernetes objects.
	Contents string `yaml:"contents" json:"contents"`
}
