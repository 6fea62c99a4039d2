package proxy

import (
	"context"
	"errors"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/plinth-os/plinth/pkg/machinery/constants"
)

// serverStream describes the one request, many responses calls of fan-out.
var serverStream = &grpc.StreamDesc{ServerStreams: true}

// fanOut calls method on every node concurrently and merges the answers.
func (p *Proxy) fanOut(ss grpc.ServerStream, method string, nodes []string, md metadata.MD) error {
	kind, err := MethodKind(method)
	if err != nil {
		return status.Error(codes.Unimplemented, err.Error())
	}
	if kind != Unary && kind != ServerStream {
		return status.Errorf(codes.InvalidArgument, "%s is a %s RPC, which cannot be sent to several nodes at once; use the %q metadata to call one node",
			method, kind, constants.NodeMetadataKey)
	}
	var req Frame
	if err := ss.RecvMsg(&req); err != nil {
		return err
	}
	p.log.Debug("fanning out call", "method", method, "nodes", nodes)
	ctx := metadata.NewOutgoingContext(ss.Context(), md)
	if kind == Unary {
		return p.fanOutUnary(ctx, ss, method, nodes, &req)
	}
	return p.fanOutStream(ctx, ss, method, nodes, &req)
}

// fanOutUnary sends the request to every node and replies with the merged
// responses.
func (p *Proxy) fanOutUnary(ctx context.Context, ss grpc.ServerStream, method string, nodes []string, req *Frame) error {
	results := make([]NodeResult, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Go(func() {
			results[i] = NodeResult{Node: node}
			conn, err := p.backends.Remote(node)
			if err != nil {
				results[i].Err = status.Error(codes.InvalidArgument, err.Error())
				return
			}
			var resp Frame
			results[i].Err = conn.Invoke(ctx, method, req, &resp, grpc.ForceCodecV2(Codec{}))
			results[i].Response = resp.Data
		})
	}
	wg.Wait()
	merged, err := MergeUnary(results)
	if err != nil {
		return err
	}
	return ss.SendMsg(&Frame{Data: merged})
}

// fanOutStream opens the stream on every node and relays the messages of
// all of them, each tagged with its node, as they come. A node that fails
// contributes one error message; the others go on.
func (p *Proxy) fanOutStream(ctx context.Context, ss grpc.ServerStream, method string, nodes []string, req *Frame) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(chan []byte)
	var wg sync.WaitGroup
	for _, node := range nodes {
		wg.Go(func() {
			emit := func(b []byte) bool {
				select {
				case out <- b:
					return true
				case <-ctx.Done():
					return false
				}
			}
			err := p.streamNode(ctx, node, method, req, func(b []byte) bool { return emit(TagMessage(b, node)) })
			if err != nil && ctx.Err() == nil {
				emit(ErrorMessage(node, err))
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	for msg := range out {
		if err := ss.SendMsg(&Frame{Data: msg}); err != nil {
			cancel()
			for range out { //nolint:revive // wait for the node streams to end
			}
			return err
		}
	}
	return nil
}

// streamNode runs a server-streaming call on one node, passing every
// message to emit until emit returns false. It returns the call's error,
// nil when the stream ended normally.
func (p *Proxy) streamNode(ctx context.Context, node, method string, req *Frame, emit func([]byte) bool) error {
	conn, err := p.backends.Remote(node)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := conn.NewStream(ctx, serverStream, method, grpc.ForceCodecV2(Codec{}))
	if err != nil {
		return err
	}
	// A failed send ends the stream; RecvMsg below returns its status.
	if err := cs.SendMsg(req); err == nil {
		cs.CloseSend() //nolint:errcheck // always nil for grpc-go client streams
	}
	for {
		var f Frame
		if err := cs.RecvMsg(&f); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if !emit(f.Data) {
			return ctx.Err()
		}
	}
}
