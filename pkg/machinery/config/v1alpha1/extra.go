package v1alpha1

// Kinds of the documents in this package.
const (
	KindMachineConfig      = "MachineConfig"
	KindTrustedRootsConfig = "TrustedRootsConfig"
	KindManifestsConfig    = "ManifestsConfig"
)

// TrustedRootsConfig adds CA certificates that the node trusts for TLS
// (image registries, NTP over NTS, HTTP config sources). Several may be given,
// each with its own name.
type TrustedRootsConfig struct {
	TypeMeta `yaml:",inline" json:",inline"`
	// Name identifies this set of roots.
	// Example: corporate-ca
	Name string `yaml:"name" json:"name"`
	// Certificates are PEM-encoded CA certificates.
	Certificates string `yaml:"certificates" json:"certificates"`
}

// ManifestsConfig carries Kubernetes manifests applied when the cluster is
// bootstrapped, beside cluster.inlineManifests; useful to keep big manifests
// in their own document. Several may be given, each with its own name.
type ManifestsConfig struct {
	TypeMeta `yaml:",inline" json:",inline"`
	// Name identifies this set of manifests.
	Name string `yaml:"name" json:"name"`
	// Contents is one or more YAML documents of Kubernetes objects.
	Contents string `yaml:"contents" json:"contents"`
}
