// Package authz decides who may call what on the Plinth API. It holds the
// one authorization table of apid, from full method name to the roles
// allowed to call it, and authenticates callers from their TLS client
// certificate (see Authenticate). docs/api-roles.md explains the policy.
//
// A method that is not in the table is denied to everyone: adding an RPC to
// a .proto file makes it reachable only once it has an entry here, and a
// test fails until it has.
package authz

import (
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/pkg/machinery/role"
)

// Groups of roles used by Table, from the widest to the narrowest.
var (
	// everyone is every role, including os:etcd:backup.
	everyone = []role.Role{role.Admin, role.Operator, role.Reader, role.EtcdBackup}
	// readers may read what holds no secrets.
	readers = []role.Role{role.Admin, role.Operator, role.Reader}
	// operators may also run day-two operations that keep the node's config.
	operators = []role.Role{role.Admin, role.Operator}
	// admins may do anything, including reading secrets and replacing the
	// config.
	admins = []role.Role{role.Admin}
	// etcdBackup may take etcd snapshots, and nothing else but Version.
	etcdBackup = []role.Role{role.Admin, role.EtcdBackup}
)

// Method name prefixes of the served services.
const (
	machineSvc  = "/plinth.machine.MachineService/"
	resourceSvc = "/plinth.resource.ResourceService/"
)

// Table maps the full method name of every RPC apid serves to the roles
// allowed to call it. Do not modify it at run time.
var Table = map[string][]role.Role{
	machineSvc + "Version":            everyone,
	machineSvc + "ApplyConfiguration": admins,
	machineSvc + "GetConfiguration":   admins, // the config holds the cluster's secrets
	machineSvc + "Bootstrap":          admins,

	machineSvc + "ServiceList":    readers,
	machineSvc + "ServiceStart":   operators,
	machineSvc + "ServiceStop":    operators,
	machineSvc + "ServiceRestart": operators,
	machineSvc + "Logs":           readers,
	machineSvc + "Dmesg":          readers,
	machineSvc + "Events":         readers,

	machineSvc + "Processes": readers,
	machineSvc + "Memory":    readers,
	machineSvc + "Mounts":    readers,
	machineSvc + "Hostname":  readers,
	machineSvc + "Netstat":   readers,

	machineSvc + "Read": admins, // file contents may be keys
	machineSvc + "List": readers,
	machineSvc + "Copy": admins, // file contents may be keys

	machineSvc + "Reboot":   operators,
	machineSvc + "Shutdown": admins, // the node cannot be brought back over the API
	machineSvc + "Reset":    admins,
	machineSvc + "Upgrade":  admins, // replaces the operating system
	machineSvc + "Rollback": admins,

	machineSvc + "EtcdMemberList":   readers,
	machineSvc + "EtcdStatus":       readers,
	machineSvc + "EtcdSnapshot":     etcdBackup, // the database holds every Secret
	machineSvc + "EtcdRemoveMember": admins,
	machineSvc + "EtcdLeaveCluster": admins,
	machineSvc + "EtcdDefragment":   admins,

	machineSvc + "ImageList":   readers,
	machineSvc + "ImageImport": admins, // what runs on the node
	machineSvc + "Containers":  readers,
	machineSvc + "Kubeconfig":  admins, // a cluster-admin credential

	// machined hides sensitive resource types (secrets) from callers
	// without os:admin; see docs/api-roles.md.
	resourceSvc + "Get":   readers,
	resourceSvc + "List":  readers,
	resourceSvc + "Watch": readers,
}

// Allowed reports whether a caller with roles may call method.
func Allowed(method string, roles role.Set) bool {
	allowed, ok := Table[method]
	return ok && slices.ContainsFunc(allowed, roles.Includes)
}

// Authorize returns nil if a caller with roles may call method, and a
// codes.PermissionDenied status error saying why not otherwise.
func Authorize(method string, roles role.Set) error {
	if _, ok := Table[method]; !ok {
		return status.Errorf(codes.PermissionDenied, "method %s is not in the authorization table", method)
	}
	if !Allowed(method, roles) {
		return status.Error(codes.PermissionDenied, fmt.Sprintf("roles %q may not call %s (allowed: %q)",
			roles.Strings(), method, Table[method]))
	}
	return nil
}
