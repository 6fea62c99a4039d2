package client

import (
	"context"
	"fmt"

	"google.golang.org/grpc/metadata"

	"github.com/plinth-os/plinth/api/common"
	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// LocalNode names the node of an item that carries no node: the endpoint
// answered the call itself.
const LocalNode = "local"

// WithNodes returns ctx whose calls apid fans out to nodes (one metadata
// value per node under constants.NodesMetadataKey), replacing any target
// set before. With no nodes, calls go to the endpoint itself.
func WithNodes(ctx context.Context, nodes ...string) context.Context {
	return withTargets(ctx, constants.NodesMetadataKey, nodes)
}

// WithNode returns ctx whose calls apid proxies to one node
// (constants.NodeMetadataKey), replacing any target set before. An empty
// node means the endpoint itself.
func WithNode(ctx context.Context, node string) context.Context {
	if node == "" {
		return withTargets(ctx, constants.NodeMetadataKey, nil)
	}
	return withTargets(ctx, constants.NodeMetadataKey, []string{node})
}

func withTargets(ctx context.Context, key string, values []string) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Delete(constants.NodesMetadataKey)
	md.Delete(constants.NodeMetadataKey)
	if len(values) > 0 {
		md.Set(key, values...)
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// NodeError is a failure of one node in a fan-out answer.
type NodeError struct {
	// Node is the node that failed, as NodeName names it.
	Node string
	// Message is the node's error.
	Message string
}

// Error renders "node NODE: MESSAGE".
func (e NodeError) Error() string { return fmt.Sprintf("node %s: %s", e.Node, e.Message) }

// Items splits the items of a fan-out answer into those that succeeded and
// the errors of the nodes that failed (items with metadata.error), keeping
// the order of both.
func Items[T interface{ GetMetadata() *common.Metadata }](msgs []T) (ok []T, errs []NodeError) {
	for _, m := range msgs {
		md := m.GetMetadata()
		if msg := md.GetError(); msg != "" {
			errs = append(errs, NodeError{Node: NodeName(md), Message: msg})
			continue
		}
		ok = append(ok, m)
	}
	return ok, errs
}

// NodeName names the node an item came from: its metadata's node, or
// LocalNode when the endpoint answered itself. Client.NodeName names the
// endpoint instead when there is only one.
func NodeName(md *common.Metadata) string {
	if n := md.GetNode(); n != "" {
		return n
	}
	return LocalNode
}
