package proxy

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// bidi describes a call of any kind: on the wire a unary or one-way
// streaming RPC is a bidirectional stream whose sides send one message.
var bidi = &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}

// forward relays the call on ss to conn as it is: requests one way,
// responses (through transform, if not nil) the other, headers and
// trailers included. The backend's status is returned unchanged.
func forward(ss grpc.ServerStream, conn grpc.ClientConnInterface, method string, md metadata.MD, transform func([]byte) ([]byte, error)) error {
	// Cancelled on return: stops the backend call when the client's side
	// ends first.
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	cs, err := conn.NewStream(metadata.NewOutgoingContext(ctx, md), bidi, method, grpc.ForceCodecV2(Codec{}))
	if err != nil {
		return err
	}
	// The request pump ends by itself: at the client's half-close, or when
	// the server stream ends after this handler returns.
	go relayRequests(ss, cs)
	return relayResponses(cs, ss, transform)
}

// relayRequests copies the client's messages to the backend and
// half-closes the backend stream after the last one.
func relayRequests(ss grpc.ServerStream, cs grpc.ClientStream) {
	for {
		var f Frame
		if err := ss.RecvMsg(&f); err != nil {
			if errors.Is(err, io.EOF) {
				cs.CloseSend() //nolint:errcheck // always nil for grpc-go client streams
			}
			// Other errors mean the client is gone; the context cancels
			// the backend stream.
			return
		}
		if err := cs.SendMsg(&f); err != nil {
			// The backend ended the call; relayResponses gets its status.
			return
		}
	}
}

// relayResponses copies the backend's header, messages and trailer to the
// client and returns the backend's status.
func relayResponses(cs grpc.ClientStream, ss grpc.ServerStream, transform func([]byte) ([]byte, error)) error {
	for first := true; ; first = false {
		var f Frame
		err := cs.RecvMsg(&f)
		if first {
			// The header arrives before the first message, or with the
			// status of a call that fails at once.
			if h, herr := cs.Header(); herr == nil && len(h) > 0 {
				if serr := ss.SendHeader(h); serr != nil {
					return serr
				}
			}
		}
		if err != nil {
			ss.SetTrailer(cs.Trailer())
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if transform != nil {
			if f.Data, err = transform(f.Data); err != nil {
				return status.Errorf(codes.Internal, "relay response: %v", err)
			}
		}
		if err := ss.SendMsg(&f); err != nil {
			return err
		}
	}
}
