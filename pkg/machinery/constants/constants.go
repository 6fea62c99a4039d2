// Package constants holds the well-known ports, paths and names shared by
// the node (machined, apid, trustd) and its clients.
package constants

import "time"

// Ports.
const (
	// ApidPort is the port of the node API (mutual TLS; maintenance mode: TLS only).
	ApidPort = 50000
	// TrustdPort is trustd's port on control planes.
	TrustdPort = 50001
)

// Paths on the node. In container mode and in tests every path is resolved
// under a root directory given to machined (see machined's --root flag), so
// the same layout works inside a Docker container and in a temp dir.
const (
	// SystemRunDir holds sockets and runtime files (tmpfs).
	SystemRunDir = "/system/run"
	// MachinedSocket is machined's API socket; apid forwards calls to it.
	MachinedSocket = "/system/run/machined/machined.sock"
	// SystemSecretsDir holds certificates machined issues for apid and trustd.
	SystemSecretsDir = "/system/secrets"
	// StateDir is the persistent STATE location (the machine config).
	StateDir = "/system/state"
	// ConfigFile is the machine config inside StateDir.
	ConfigFile = "config.yaml"
	// StagedConfigFile is a config staged for the next boot inside StateDir.
	StagedConfigFile = "config.staged.yaml"
	// VarDir is the writable /var.
	VarDir = "/var"
	// LogDir is where service logs are written when /var exists.
	LogDir = "/var/log"
)

// Metadata keys of the API.
const (
	// NodesMetadataKey fans a call out to the named nodes (apid).
	NodesMetadataKey = "nodes"
	// NodeMetadataKey proxies a call to one node.
	NodeMetadataKey = "node"
	// RolesMetadataKey carries the caller's roles from one apid to another
	// (trusted only from peers whose certificate has the impersonator role)
	// and from apid to machined.
	RolesMetadataKey = "plinth-roles"
	// TokenMetadataKey carries the machine token to trustd.
	TokenMetadataKey = "token"
)

// RoleImpersonator is the Organization of node certificates: apid presents
// it when proxying, and the target apid then trusts RolesMetadataKey.
const RoleImpersonator = "os:impersonator"

// Timing defaults.
const (
	// APICertValidity is how long apid's server certificate is valid.
	APICertValidity = 365 * 24 * time.Hour
	// APICertRenewBefore is how early before expiry it is renewed.
	APICertRenewBefore = 30 * 24 * time.Hour
	// DefaultTryModeTimeout is the rollback timeout of apply-config --mode try.
	DefaultTryModeTimeout = time.Minute
)
