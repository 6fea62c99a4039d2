package proxy

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// Frame is one gRPC message as its encoded bytes. Codec passes frames
// through untouched, which lets apid forward any RPC without knowing its
// types.
type Frame struct {
	// Data is the encoded protobuf message.
	Data []byte
}

// Codec is a gRPC codec that passes *Frame values through as bytes and
// encodes any other protobuf message as usual. Its name is "proto", so the
// wire content type is the usual application/grpc+proto.
//
// It is not registered globally: apid sets it with grpc.ForceServerCodecV2
// on its server and grpc.ForceCodecV2 on its calls.
type Codec struct{}

var _ encoding.CodecV2 = Codec{}

// Marshal returns the bytes of a *Frame, or the encoding of a proto.Message.
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	switch m := v.(type) {
	case *Frame:
		return mem.BufferSlice{mem.SliceBuffer(m.Data)}, nil
	case proto.Message:
		b, err := proto.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("proxy codec: marshal %T: %w", v, err)
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	default:
		return nil, fmt.Errorf("proxy codec: cannot marshal %T", v)
	}
}

// Unmarshal copies data into a *Frame, or decodes it into a proto.Message.
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	switch m := v.(type) {
	case *Frame:
		m.Data = data.Materialize()
		return nil
	case proto.Message:
		if err := proto.Unmarshal(data.Materialize(), m); err != nil {
			return fmt.Errorf("proxy codec: unmarshal %T: %w", v, err)
		}
		return nil
	default:
		return fmt.Errorf("proxy codec: cannot unmarshal into %T", v)
	}
}

// Name returns "proto".
func (Codec) Name() string { return "proto" }
