// Package etcd holds the resources of the etcd member a control-plane node
// runs: its certificates, whether this node bootstrapped the cluster, the
// member list it sees and the state of its own member.
//
//	EtcdCertificates (secrets, from cluster.etcd.ca)
//	EtcdBootstrap    (written by the Bootstrap API call, kept in STATE)
//	        └──▶ ServiceConfig "etcd" ──▶ EtcdStatus, EtcdMembers
package etcd

import (
	"time"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// NamespaceName is the namespace of etcd resources.
const NamespaceName = "etcd"

// Types of this package.
const (
	CertificatesType = "EtcdCertificates.etcd.plinth.dev"
	BootstrapType    = "EtcdBootstraps.etcd.plinth.dev"
	MemberType       = "EtcdMembers.etcd.plinth.dev"
	StatusType       = "EtcdStatuses.etcd.plinth.dev"
)

// IDs of the singleton resources.
const (
	// CertificatesID is the id of the EtcdCertificates resource.
	CertificatesID = "etcd"
	// BootstrapID is the id of the EtcdBootstrap resource.
	BootstrapID = "etcd"
	// StatusID is the id of the EtcdStatus resource.
	StatusID = "etcd"
)

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

// CertificatesSpec is the key material of the node's etcd member, issued
// from cluster.etcd.ca and written under /system/secrets/etcd.
type CertificatesSpec struct {
	// CA is the PEM etcd CA certificate.
	CA string `json:"ca"`
	// Server is served on the client port (2379).
	Server CertAndKey `json:"server"`
	// Peer is served and presented on the peer port (2380).
	Peer CertAndKey `json:"peer"`
	// APIServerClient is kube-apiserver's client certificate.
	APIServerClient CertAndKey `json:"apiServerClient"`
	// Client is machined's own client certificate (health, members).
	Client CertAndKey `json:"client"`
	// IPs and DNSNames are the subject alternative names of Server and Peer.
	IPs      []string `json:"ips"`
	DNSNames []string `json:"dnsNames"`
	// Hash changes whenever a file etcd reads changes.
	Hash string `json:"hash"`
}

// Certificates is the etcd certificates resource (sensitive).
type Certificates = resource.Typed[CertificatesSpec]

// NewCertificates returns an empty EtcdCertificates resource.
func NewCertificates() *Certificates {
	return resource.NewTyped(NamespaceName, CertificatesType, CertificatesID, CertificatesSpec{})
}

// BootstrapSpec records that this node bootstrapped etcd (and so the
// cluster): it started the first member with --initial-cluster-state new and
// applies the cluster's manifests. The record is kept in STATE, so it
// survives reboots and is wiped by a reset.
type BootstrapSpec struct {
	// Bootstrapped is true once the Bootstrap API call was accepted.
	Bootstrapped bool `json:"bootstrapped"`
	// Time is when it was accepted.
	Time time.Time `json:"time"`
}

// Bootstrap is the EtcdBootstrap resource.
type Bootstrap = resource.Typed[BootstrapSpec]

// NewBootstrap returns an empty EtcdBootstrap resource.
func NewBootstrap() *Bootstrap {
	return resource.NewTyped(NamespaceName, BootstrapType, BootstrapID, BootstrapSpec{})
}

// MemberSpec is one member of the etcd cluster as the local member sees it.
// The resource id is the member id in hex.
type MemberSpec struct {
	// ID is the member id in hex.
	ID string `json:"id"`
	// Name is the member's name (its node's hostname); empty while a
	// member added to the cluster has not started yet.
	Name string `json:"name"`
	// PeerURLs and ClientURLs are the member's advertised URLs.
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs,omitempty"`
	// Learner is true until the member is promoted to a voting member.
	Learner bool `json:"learner"`
}

// Member is one etcd member resource.
type Member = resource.Typed[MemberSpec]

// NewMember returns an EtcdMember resource for the hex member id.
func NewMember(id string) *Member {
	return resource.NewTyped(NamespaceName, MemberType, id, MemberSpec{ID: id})
}

// Phases of the local member, in EtcdStatus.
const (
	// PhaseWaiting: not bootstrapped or no certificates yet.
	PhaseWaiting = "waiting"
	// PhaseJoining: adding the member to the existing cluster.
	PhaseJoining = "joining"
	// PhaseStarting: the service is configured, etcd does not answer yet.
	PhaseStarting = "starting"
	// PhaseLearner: running as a learner, not promoted yet.
	PhaseLearner = "learner"
	// PhaseRunning: a voting member that answers.
	PhaseRunning = "running"
)

// StatusSpec is the state of the node's etcd member.
type StatusSpec struct {
	// Phase is waiting, joining, starting, learner or running.
	Phase string `json:"phase"`
	// Role is bootstrap (this node started the cluster) or join.
	Role string `json:"role,omitempty"`
	// AdvertisedIP is the address the member advertises to peers and clients.
	AdvertisedIP string `json:"advertisedIP,omitempty"`
	// MemberID is the local member's id in hex, once known.
	MemberID string `json:"memberID,omitempty"`
	// Leader is the current leader's member id in hex.
	Leader string `json:"leader,omitempty"`
	// Healthy is true when the last status call answered without errors.
	Healthy bool `json:"healthy"`
	// Version is the server's version.
	Version string `json:"version,omitempty"`
	// Message says why the member is in its phase.
	Message string `json:"message,omitempty"`
}

// Status is the EtcdStatus resource.
type Status = resource.Typed[StatusSpec]

// NewStatus returns an empty EtcdStatus resource.
func NewStatus() *Status {
	return resource.NewTyped(NamespaceName, StatusType, StatusID, StatusSpec{})
}

// Definitions of this package's types.
var Definitions = []resource.Definition{
	{
		Type: CertificatesType, DefaultNamespace: NamespaceName, Aliases: []string{"etcdcerts"}, Sensitive: true,
		PrintColumns: []resource.Column{
			{Name: "Not After", JSONPath: "{.spec.server.notAfter}"},
			{Name: "IPs", JSONPath: "{.spec.ips}"},
		},
	},
	{
		Type: BootstrapType, DefaultNamespace: NamespaceName, Aliases: []string{"etcdbootstrap"},
		PrintColumns: []resource.Column{
			{Name: "Bootstrapped", JSONPath: "{.spec.bootstrapped}"},
			{Name: "Time", JSONPath: "{.spec.time}"},
		},
	},
	{
		Type: MemberType, DefaultNamespace: NamespaceName, Aliases: []string{"etcdmember"},
		PrintColumns: []resource.Column{
			{Name: "Name", JSONPath: "{.spec.name}"},
			{Name: "Peer URLs", JSONPath: "{.spec.peerURLs}"},
			{Name: "Learner", JSONPath: "{.spec.learner}"},
		},
	},
	{
		Type: StatusType, DefaultNamespace: NamespaceName, Aliases: []string{"etcdstatus"},
		PrintColumns: []resource.Column{
			{Name: "Phase", JSONPath: "{.spec.phase}"},
			{Name: "Role", JSONPath: "{.spec.role}"},
			{Name: "Member", JSONPath: "{.spec.memberID}"},
			{Name: "Healthy", JSONPath: "{.spec.healthy}"},
		},
	},
}
