// Package secrets holds the resources that carry key material on the node,
// such as the API server certificates of apid. They are all sensitive: the
// API serves them to os:admin only.
package secrets

import (
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// NamespaceName is the namespace of secrets resources.
const NamespaceName = "secrets"

// APICertificatesType is the type of the API certificates resource.
const APICertificatesType = "APICertificates.secrets.plinth.dev"

// APICertificatesID is the id of the APICertificates resource.
const APICertificatesID = "api"

// APICertificatesSpec is the certificate apid (and trustd) serve, the key
// that goes with it and the CA that verifies clients.
type APICertificatesSpec struct {
	// CA is the PEM OS CA certificate.
	CA string `json:"ca"`
	// Crt is the PEM server certificate, issued by the OS CA.
	Crt string `json:"crt"`
	// Key is the PEM PKCS#8 private key of Crt; kept across re-issues.
	Key string `json:"key"`
	// IPs are the IP subject alternative names Crt was requested with.
	IPs []string `json:"ips"`
	// DNSNames are the DNS subject alternative names Crt was requested with.
	DNSNames []string `json:"dnsNames"`
	// NotBefore is when Crt becomes valid.
	NotBefore time.Time `json:"notBefore"`
	// NotAfter is when Crt expires.
	NotAfter time.Time `json:"notAfter"`
}

// APICertificates is the API certificates resource.
type APICertificates = resource.Typed[APICertificatesSpec]

// NewAPICertificates returns an empty APICertificates resource.
func NewAPICertificates() *APICertificates {
	return resource.NewTyped(NamespaceName, APICertificatesType, APICertificatesID, APICertificatesSpec{})
}

// Definitions of this package's types.
var Definitions = []resource.Definition{
	{Type: APICertificatesType, DefaultNamespace: NamespaceName, Aliases: []string{"apicerts"}, Sensitive: true,
		PrintColumns: []resource.Column{
			{Name: "Not After", JSONPath: "{.spec.notAfter}"},
			{Name: "DNS Names", JSONPath: "{.spec.dnsNames}"},
		}},
}
