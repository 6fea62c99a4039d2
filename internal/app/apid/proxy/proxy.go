// Package proxy forwards authorized API calls without knowing their types:
// to the local machined, to one other node's apid, or to several nodes at
// once (fan-out), merging their answers.
//
// Messages travel as raw bytes (Frame, Codec). The only thing the proxy
// knows about them is the fan-out convention of api/common/common.proto,
// which it applies at the wire level (TagItems, TagMessage, MergeUnary):
//
//	no node metadata      → machined (unchanged, any kind of RPC)
//	node: X               → X's apid; items / messages tagged metadata.node=X
//	nodes: A,B,...        → each node's apid concurrently;
//	                        unary: items concatenated, one error item per failed node
//	                        server stream: messages interleaved, one error message per failed node
//
// Calls to other nodes carry the caller's roles in the roles metadata and
// never the node metadata, so a call fans out at most once.
package proxy

import (
	"log/slog"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/pkg/machinery/apiauth"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
	"github.com/plinth-os/plinth/pkg/machinery/role"
)

// Backends are where the proxy sends calls.
type Backends interface {
	// Local returns the connection to this node's machined.
	Local() grpc.ClientConnInterface
	// Remote returns a connection to the apid of the node named target, an
	// address with or without port, as the caller wrote it.
	Remote(target string) (grpc.ClientConnInterface, error)
}

// Call is an authenticated and authorized call to forward.
type Call struct {
	// Method is the full method name, "/package.Service/Method".
	Method string
	// Roles are the caller's roles, passed on in the roles metadata.
	Roles role.Set
	// AllowFanOut permits the node and nodes metadata. It is false for
	// calls another apid proxied here: those are served locally, so that a
	// call never hops twice.
	AllowFanOut bool
}

// Proxy forwards calls to Backends.
type Proxy struct {
	backends Backends
	log      *slog.Logger
}

// New returns a Proxy that sends calls to b.
func New(b Backends, log *slog.Logger) *Proxy {
	return &Proxy{backends: b, log: log}
}

// Handle serves the call on ss, which must not have been read from yet,
// and returns the status to end it with.
func (p *Proxy) Handle(ss grpc.ServerStream, call Call) error {
	in, _ := metadata.FromIncomingContext(ss.Context())
	out := outgoingMetadata(in, call.Roles)
	node, nodes, err := targets(in)
	if err != nil {
		return err
	}
	if !call.AllowFanOut {
		node, nodes = "", nil
	}
	switch {
	case node == "" && len(nodes) == 0:
		p.log.Debug("forwarding call", "method", call.Method, "target", "machined")
		return forward(ss, p.backends.Local(), call.Method, out, nil)
	case node != "":
		return p.proxyOne(ss, call.Method, node, out)
	default:
		return p.fanOut(ss, call.Method, nodes, out)
	}
}

// proxyOne forwards the call to one node and tags what comes back.
func (p *Proxy) proxyOne(ss grpc.ServerStream, method, node string, md metadata.MD) error {
	kind, err := MethodKind(method)
	if err != nil {
		return status.Error(codes.Unimplemented, err.Error())
	}
	conn, err := p.backends.Remote(node)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "node %s: %v", node, err)
	}
	tag := func(b []byte) ([]byte, error) { return TagItems(b, node) }
	if kind == ServerStream || kind == BidiStream {
		tag = func(b []byte) ([]byte, error) { return TagMessage(b, node), nil }
	}
	p.log.Debug("forwarding call", "method", method, "target", node)
	return forward(ss, conn, method, md, tag)
}

// outgoingMetadata returns the metadata to forward: the caller's, without
// the routing keys and with the roles set to roles (a client's own roles
// metadata is never passed on).
func outgoingMetadata(in metadata.MD, roles role.Set) metadata.MD {
	out := in.Copy()
	for _, k := range []string{constants.NodeMetadataKey, constants.NodesMetadataKey, constants.RolesMetadataKey, ":authority"} {
		delete(out, k)
	}
	apiauth.SetRoles(out, roles)
	return out
}

// targets returns the node of the node metadata, or the nodes of the nodes
// metadata (comma-separated and/or repeated, duplicates removed), and an
// InvalidArgument error when both are set or an entry is empty.
func targets(md metadata.MD) (node string, nodes []string, err error) {
	single := md.Get(constants.NodeMetadataKey)
	multi := md.Get(constants.NodesMetadataKey)
	switch {
	case len(single) > 0 && len(multi) > 0:
		return "", nil, status.Errorf(codes.InvalidArgument, "set either %q or %q metadata, not both", constants.NodeMetadataKey, constants.NodesMetadataKey)
	case len(single) > 1:
		return "", nil, status.Errorf(codes.InvalidArgument, "%q metadata names %d nodes; use %q for several", constants.NodeMetadataKey, len(single), constants.NodesMetadataKey)
	case len(single) == 1:
		node = strings.TrimSpace(single[0])
		if node == "" {
			return "", nil, status.Errorf(codes.InvalidArgument, "%q metadata is empty", constants.NodeMetadataKey)
		}
		return node, nil, nil
	}
	for _, v := range multi {
		for n := range strings.SplitSeq(v, ",") {
			n = strings.TrimSpace(n)
			if n == "" {
				return "", nil, status.Errorf(codes.InvalidArgument, "%q metadata %q has an empty entry", constants.NodesMetadataKey, v)
			}
			if !slices.Contains(nodes, n) {
				nodes = append(nodes, n)
			}
		}
	}
	return "", nodes, nil
}
