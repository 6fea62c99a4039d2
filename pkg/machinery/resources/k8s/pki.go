// Package k8s holds the resources of the Kubernetes node and control plane:
// the control plane's certificates and kubeconfigs, the manifests applied to
// a bootstrapped cluster and their status, and the node's own components.
package k8s

import (
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// NamespaceName is the namespace of Kubernetes resources.
const NamespaceName = "k8s"

// CertificatesType is the type of the KubernetesCertificates resource.
const CertificatesType = "KubernetesCertificates.k8s.plinth.dev"

// CertificatesID is the id of the KubernetesCertificates resource.
const CertificatesID = "kubernetes"

// CertAndKey is a PEM certificate, its PEM private key and its validity.
type CertAndKey struct {
	// Crt is the PEM certificate.
	Crt string `json:"crt"`
	// Key is the PEM PKCS#8 private key of Crt.
	Key string `json:"key"`
	// NotBefore and NotAfter bound the certificate's validity.
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
}

// CertificatesSpec summarises the Kubernetes key material of the node, all
// written under /system/secrets/kubernetes. A worker has only the CA
// certificate; a control plane has every field.
type CertificatesSpec struct {
	// CA is the PEM cluster CA certificate (cluster.ca.crt).
	CA string `json:"ca"`
	// AggregatorCA is the PEM front-proxy CA certificate.
	AggregatorCA string `json:"aggregatorCA,omitempty"`
	// APIServer is kube-apiserver's serving certificate.
	APIServer CertAndKey `json:"apiServer"`
	// APIServerKubeletClient is kube-apiserver's client certificate to kubelets.
	APIServerKubeletClient CertAndKey `json:"apiServerKubeletClient"`
	// FrontProxyClient is kube-apiserver's client certificate to aggregated APIs.
	FrontProxyClient CertAndKey `json:"frontProxyClient"`
	// ControllerManager and Scheduler are the components' client certificates.
	ControllerManager CertAndKey `json:"controllerManager"`
	Scheduler         CertAndKey `json:"scheduler"`
	// Admin is machined's own client certificate (group system:masters).
	Admin CertAndKey `json:"admin"`
	// IPs and DNSNames are the subject alternative names of APIServer.
	IPs      []string `json:"ips,omitempty"`
	DNSNames []string `json:"dnsNames,omitempty"`
	// Hash changes whenever a file the control plane reads changes.
	Hash string `json:"hash"`
}

// Certificates is the KubernetesCertificates resource (sensitive).
type Certificates = resource.Typed[CertificatesSpec]

// NewCertificates returns an empty KubernetesCertificates resource.
func NewCertificates() *Certificates {
	return resource.NewTyped(NamespaceName, CertificatesType, CertificatesID, CertificatesSpec{})
}

// ControlPlaneDefinitions are the definitions of the control plane's types
// in this package (the node's components define their own).
var ControlPlaneDefinitions = []resource.Definition{
	{
		Type: CertificatesType, DefaultNamespace: NamespaceName, Aliases: []string{"k8scerts"}, Sensitive: true,
		PrintColumns: []resource.Column{
			{Name: "Not After", JSONPath: "{.spec.apiServer.notAfter}"},
			{Name: "IPs", JSONPath: "{.spec.ips}"},
		},
	},
	ManifestDefinition,
	ManifestStatusDefinition,
}
