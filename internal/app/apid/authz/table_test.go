package authz

import (
	"maps"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
	"github.com/plinth-os/plinth/pkg/machinery/role"
)

// servedServices are the services apid exposes; every RPC of each needs
// exactly one entry in Table.
var servedServices = []*grpc.ServiceDesc{
	&machine.MachineService_ServiceDesc,
	&resource.ResourceService_ServiceDesc,
}

// describedMethods returns the full method names of every RPC, unary and
// streaming, of the served services.
func describedMethods() []string {
	var out []string
	for _, sd := range servedServices {
		for _, m := range sd.Methods {
			out = append(out, "/"+sd.ServiceName+"/"+m.MethodName)
		}
		for _, s := range sd.Streams {
			out = append(out, "/"+sd.ServiceName+"/"+s.StreamName)
		}
	}
	slices.Sort(out)
	return out
}

func TestTableCoversEveryRPC(t *testing.T) {
	described := describedMethods()
	for _, m := range described {
		if _, ok := Table[m]; !ok {
			t.Errorf("RPC %s has no entry in the authorization table", m)
		}
	}
	for m := range Table {
		if !slices.Contains(described, m) {
			t.Errorf("authorization table entry %s names no RPC of the served services", m)
		}
	}
}

func TestTableEntriesAreSound(t *testing.T) {
	for m, roles := range Table {
		if len(roles) == 0 {
			t.Errorf("%s: no role may call it; remove the RPC or name its roles", m)
		}
		if !slices.Contains(roles, role.Admin) {
			t.Errorf("%s: %s may call everything but is missing", m, role.Admin)
		}
		for _, r := range roles {
			if !slices.Contains(role.All, r) {
				t.Errorf("%s: unknown role %q", m, r)
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(roles)))) != len(roles) {
			t.Errorf("%s: roles repeated: %q", m, roles)
		}
	}
}

// TestTablePolicy pins the decisions documented in docs/api-roles.md, so
// that a change of policy is a visible change of this test.
func TestTablePolicy(t *testing.T) {
	const ms, rs = "/plinth.machine.MachineService/", "/plinth.resource.ResourceService/"
	want := map[role.Role][]string{
		role.Reader: {
			ms + "Version", ms + "ServiceList", ms + "Logs", ms + "Dmesg", ms + "Events",
			ms + "Processes", ms + "Memory", ms + "Mounts", ms + "Hostname", ms + "Netstat", ms + "List",
			ms + "EtcdMemberList", ms + "EtcdStatus", ms + "ImageList", ms + "Containers",
			rs + "Get", rs + "List", rs + "Watch",
		},
		role.EtcdBackup: {ms + "Version", ms + "EtcdSnapshot"},
	}
	want[role.Operator] = append(slices.Clone(want[role.Reader]),
		ms+"ServiceStart", ms+"ServiceStop", ms+"ServiceRestart", ms+"Reboot")
	want[role.Admin] = describedMethods()

	for _, r := range role.All {
		var got []string
		for _, m := range slices.Sorted(maps.Keys(Table)) {
			if Allowed(m, role.MakeSet(r)) {
				got = append(got, m)
			}
		}
		w := slices.Sorted(slices.Values(want[r]))
		if !slices.Equal(got, w) {
			t.Errorf("%s may call\n  %q\nwant\n  %q", r, got, w)
		}
	}
}

func TestAuthorize(t *testing.T) {
	const reboot = "/plinth.machine.MachineService/Reboot"
	tests := []struct {
		name   string
		method string
		roles  role.Set
		want   codes.Code
	}{
		{name: "operator reboots", method: reboot, roles: role.MakeSet(role.Operator), want: codes.OK},
		{name: "any allowed role suffices", method: reboot, roles: role.MakeSet(role.Reader, role.Operator), want: codes.OK},
		{name: "reader may not reboot", method: reboot, roles: role.MakeSet(role.Reader), want: codes.PermissionDenied},
		{name: "no roles", method: reboot, roles: role.Set{}, want: codes.PermissionDenied},
		{name: "unknown method denied even to admin", method: "/plinth.machine.MachineService/Format", roles: role.MakeSet(role.Admin), want: codes.PermissionDenied},
		{name: "other service denied", method: "/plinth.security.SecurityService/Certificate", roles: role.MakeSet(role.Admin), want: codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Authorize(tt.method, tt.roles)
			if got := status.Code(err); got != tt.want {
				t.Fatalf("Authorize = %v, want code %s", err, tt.want)
			}
		})
	}
}
