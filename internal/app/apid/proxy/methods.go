package proxy

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Kind is the shape of an RPC: how many messages each side sends.
type Kind int

// The kinds of RPC.
const (
	// Unary is one request and one response.
	Unary Kind = iota + 1
	// ServerStream is one request and a stream of responses.
	ServerStream
	// ClientStream is a stream of requests and one response.
	ClientStream
	// BidiStream is a stream each way.
	BidiStream
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Unary:
		return "unary"
	case ServerStream:
		return "server stream"
	case ClientStream:
		return "client stream"
	case BidiStream:
		return "bidirectional stream"
	default:
		return fmt.Sprintf("Kind(%d)", int(k))
	}
}

// MethodKind returns the kind of the RPC named by its full method name
// ("/plinth.machine.MachineService/Version"), from the service descriptors
// in the global protobuf registry: every generated API package linked into
// the binary registers its services there, so a new RPC needs no code here.
func MethodKind(fullMethod string) (Kind, error) {
	svc, name, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if !ok || svc == "" || name == "" {
		return 0, fmt.Errorf("malformed method name %q", fullMethod)
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return 0, fmt.Errorf("method %s: service %s: %w", fullMethod, svc, err)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return 0, fmt.Errorf("method %s: %s is not a service", fullMethod, svc)
	}
	md := sd.Methods().ByName(protoreflect.Name(name))
	if md == nil {
		return 0, fmt.Errorf("method %s: service %s has no method %s", fullMethod, svc, name)
	}
	switch {
	case md.IsStreamingClient() && md.IsStreamingServer():
		return BidiStream, nil
	case md.IsStreamingClient():
		return ClientStream, nil
	case md.IsStreamingServer():
		return ServerStream, nil
	default:
		return Unary, nil
	}
}
