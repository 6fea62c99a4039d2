package proxy

import (
	"testing"

	"github.com/plinth-os/plinth/api/machine"
	"github.com/plinth-os/plinth/api/resource"
)

func TestMethodKind(t *testing.T) {
	tests := []struct {
		method  string
		want    Kind
		wantErr bool
	}{
		{method: machine.MachineService_Version_FullMethodName, want: Unary},
		{method: machine.MachineService_Logs_FullMethodName, want: ServerStream},
		{method: resource.ResourceService_Watch_FullMethodName, want: ServerStream},
		{method: resource.ResourceService_Get_FullMethodName, want: Unary},
		{method: "/plinth.machine.MachineService/Nope", wantErr: true},
		{method: "/plinth.nope.Service/Version", wantErr: true},
		{method: "/plinth.machine.Version/Version", wantErr: true},
		{method: "Version", wantErr: true},
		{method: "/plinth.machine.MachineService/", wantErr: true},
	}
	for _, tt := range tests {
		got, err := MethodKind(tt.method)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("MethodKind(%q) = %v, %v; want %v, error %v", tt.method, got, err, tt.want, tt.wantErr)
		}
	}
	// Every described stream matches the descriptor's kind.
	for _, s := range machine.MachineService_ServiceDesc.Streams {
		k, err := MethodKind("/" + machine.MachineService_ServiceDesc.ServiceName + "/" + s.StreamName)
		if err != nil || (k == ServerStream) != (s.ServerStreams && !s.ClientStreams) {
			t.Errorf("%s: kind %v, %v", s.StreamName, k, err)
		}
	}
}
